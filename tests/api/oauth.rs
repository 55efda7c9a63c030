//! Sign-in with OpenID Connect against a real provider process: the whole
//! browser flow, account reuse and linking, and every way it must fail.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::oauth::{
    OAuthProvider, PROVIDER, authorize, browser, location, me, sign_in, use_provider,
};
use crate::harness::server::{error_code, sign_up};
use crate::harness::{TestDb, TestServer};

async fn server_for(provider: &OAuthProvider, key: Option<&'static str>) -> TestServer {
    let issuer = provider.issuer.clone();
    TestServer::start_with(TestDb::new().await, move |config| {
        use_provider(config, &issuer, key);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sign_in_ends_signed_in_and_a_second_reuses_the_account() {
    let provider = OAuthProvider::start(
        json!({ "sub": "oidc-user-1", "email": "Grace@Example.com", "email_verified": true, "name": "Grace" }),
    );
    let server = server_for(&provider, None).await;
    let first_browser = browser();
    let done = sign_in(&server, &first_browser, Some("/welcome?tab=1")).await;
    assert_eq!(done.status(), StatusCode::FOUND);
    assert_eq!(
        location(&done),
        server.url("/welcome?tab=1"),
        "lands on redirect_to under APP_URL"
    );
    let first = me(&server, &first_browser).await;
    assert_eq!(first["email"], "grace@example.com");
    assert_eq!(
        first["verified"], true,
        "a verified email makes a verified user"
    );
    assert_eq!(
        first["linkedAccounts"],
        json!([{ "provider": PROVIDER, "providerAccountId": "oidc-user-1" }])
    );
    assert_eq!(
        server
            .db
            .rows("accounts WHERE access_token IS NULL AND id_token IS NULL")
            .await,
        1,
        "no key, no stored tokens"
    );

    let again = browser();
    assert_eq!(
        sign_in(&server, &again, None).await.status(),
        StatusCode::FOUND
    );
    assert_eq!(
        me(&server, &again).await["id"],
        first["id"],
        "the same identity signs into the same user"
    );
    assert_eq!(server.db.rows("accounts").await, 1);
    assert_eq!(server.db.rows("users").await, 1);
    assert_eq!(
        server
            .db
            .rows("audit_events WHERE kind = 'oauth_sign_up'")
            .await,
        1
    );
    assert_eq!(
        server
            .db
            .rows("audit_events WHERE kind = 'oauth_sign_in'")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_email_links_to_the_existing_user_and_tokens_are_encrypted() {
    let provider = OAuthProvider::start(
        json!({ "sub": "oidc-ada", "email": "ada@example.com", "email_verified": true }),
    );
    let server = server_for(&provider, Some("0123456789abcdef0123456789abcdef")).await;
    let token = sign_up(&server, "ada@example.com", "correct horse battery").await;
    // Ada proved her address (verification email), so her password stays.
    server
        .db
        .client()
        .await
        .execute(
            "UPDATE users SET verified = true, email_verified = now()",
            &[],
        )
        .await
        .unwrap();
    let browser = browser();
    assert_eq!(
        sign_in(&server, &browser, None).await.status(),
        StatusCode::FOUND
    );
    let linked = me(&server, &browser).await;
    let existing = server
        .gql_as(Some(&token), "{ me { id } }", json!({}))
        .await;
    assert_eq!(linked["id"], existing["data"]["me"]["id"]);
    assert_eq!(server.db.rows("users").await, 1);

    let sealed: String = server
        .db
        .client()
        .await
        .query_one("SELECT access_token FROM accounts", &[])
        .await
        .unwrap()
        .get(0);
    let key = growth_diary::config::EncryptionKey(*b"0123456789abcdef0123456789abcdef");
    let opened = growth_diary::auth::secretbox::SecretBox::new(&key)
        .open(&sealed)
        .expect("the stored token opens with the key");
    assert!(
        opened.starts_with("eyJ"),
        "the provider's access token (a JWT), stored encrypted"
    );
    assert!(!sealed.starts_with("eyJ"));

    // With a password the provider may be unlinked.
    let unlink = server
        .gql_as(
            Some(&token),
            "mutation { unlinkAccount(provider: \"mock\") }",
            json!({}),
        )
        .await;
    assert_eq!(unlink["data"]["unlinkAccount"], true, "{unlink}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unverified_email_never_links() {
    let provider = OAuthProvider::start(
        json!({ "sub": "oidc-mallory", "email": "victim@example.com", "email_verified": false }),
    );
    let server = server_for(&provider, None).await;
    sign_up(&server, "victim@example.com", "correct horse battery").await;
    let browser = browser();
    let refused = sign_in(&server, &browser, None).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(refused.text().await.unwrap().contains("already exists"));
    assert_eq!(me(&server, &browser).await, Value::Null, "no session");
    assert_eq!(server.db.rows("accounts").await, 0);
    assert_eq!(
        server
            .db
            .rows("audit_events WHERE kind = 'oauth_failed'")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_and_replayed_state_and_a_wrong_verifier_fail() {
    let provider = OAuthProvider::start(
        json!({ "sub": "oidc-2", "email": "x@example.com", "email_verified": true }),
    );
    let server = server_for(&provider, None).await;

    // Tampered state.
    let browser_a = browser();
    let callback = authorize(&server, &browser_a, None).await;
    let tampered = callback.replace("state=", "state=x");
    let response = browser_a.get(&tampered).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(me(&server, &browser_a).await, Value::Null);

    // Replayed state: the first use succeeds, the second finds nothing.
    let browser_b = browser();
    let callback = authorize(&server, &browser_b, None).await;
    assert_eq!(
        browser_b.get(&callback).send().await.unwrap().status(),
        StatusCode::FOUND
    );
    let replay = browser().get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);

    // A state from another browser (no matching cookie) is refused.
    let browser_c = browser();
    let callback = authorize(&server, &browser_c, None).await;
    let stranger = browser();
    assert_eq!(
        stranger.get(&callback).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(me(&server, &stranger).await, Value::Null);

    // A wrong PKCE verifier: the provider refuses the code.
    let browser_d = browser();
    let callback = authorize(&server, &browser_d, None).await;
    server
        .db
        .client()
        .await
        .execute(
            "UPDATE oauth_states SET pkce_verifier = repeat('a', 43)",
            &[],
        )
        .await
        .unwrap();
    let response = browser_d.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("did not confirm"));
    assert_eq!(me(&server, &browser_d).await, Value::Null);
    assert_eq!(
        server.db.rows("sessions").await,
        1,
        "only the one good sign-in made a session"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_ends_on_an_error_page() {
    let provider = OAuthProvider::start(
        json!({ "sub": "oidc-3", "email": "y@example.com", "email_verified": true }),
    );
    let server = server_for(&provider, None).await;
    let browser = browser();
    let callback = authorize(&server, &browser, None).await;
    let state = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .to_string();
    let denied = browser
        .get(server.url(&format!(
            "/auth/{PROVIDER}/callback?error=access_denied&state={state}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::BAD_REQUEST);
    assert!(denied.text().await.unwrap().contains("access_denied"));
    assert_eq!(me(&server, &browser).await, Value::Null);
    assert_eq!(server.db.rows("users").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_never_leave_the_app() {
    let provider = OAuthProvider::start(
        json!({ "sub": "oidc-4", "email": "z@example.com", "email_verified": true }),
    );
    let server = server_for(&provider, None).await;
    for evil in [
        "https://evil.example.com/steal",
        "//evil.example.com",
        "/\\evil.example.com",
    ] {
        let done = sign_in(&server, &browser(), Some(evil)).await;
        assert_eq!(done.status(), StatusCode::FOUND);
        assert_eq!(
            location(&done),
            server.url("/"),
            "{evil} falls back to APP_URL"
        );
    }
    let unknown = browser()
        .get(server.url("/auth/nope/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_way_to_sign_in_cannot_be_unlinked() {
    let provider = OAuthProvider::start(
        json!({ "sub": "oidc-5", "email": "only@example.com", "email_verified": true }),
    );
    let server = server_for(&provider, None).await;
    let browser = browser();
    sign_in(&server, &browser, None).await;
    let body: Value = browser
        .post(server.url("/graphql"))
        .json(&json!({ "query": "mutation { unlinkAccount(provider: \"mock\") }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(server.db.rows("accounts").await, 1);
}

/// GitHub's OAuth and REST endpoints, faked in the test process (GitHub itself
/// is not reachable from CI). The token endpoint checks PKCE like GitHub does.
async fn fake_github() -> String {
    use axum::extract::{Form, Query};
    use axum::response::Redirect;
    use axum::routing::{get, post};
    use base64::Engine;
    use sha2::{Digest, Sha256};
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    let challenges: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let saved = challenges.clone();
    let authorize = move |Query(q): Query<HashMap<String, String>>| async move {
        saved
            .lock()
            .unwrap()
            .insert("gh-code".into(), q["code_challenge"].clone());
        Redirect::to(&format!(
            "{}?code=gh-code&state={}",
            q["redirect_uri"], q["state"]
        ))
    };
    let token = move |Form(f): Form<HashMap<String, String>>| async move {
        let expected = challenges.lock().unwrap().remove(&f["code"]);
        let actual = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(f["code_verifier"].as_bytes()));
        if expected != Some(actual) {
            return (
                reqwest::StatusCode::BAD_REQUEST,
                axum::Json(json!({ "error": "bad_verification_code" })),
            );
        }
        (
            reqwest::StatusCode::OK,
            axum::Json(
                json!({ "access_token": "gho_test", "token_type": "bearer", "scope": "read:user,user:email" }),
            ),
        )
    };
    let app = axum::Router::new()
        .route("/login/oauth/authorize", get(authorize))
        .route("/login/oauth/access_token", post(token))
        .route("/api/user", get(|| async { axum::Json(json!({ "id": 4242, "login": "octocat", "name": null, "avatar_url": "https://example.com/o.png", "email": null })) }))
        .route("/api/user/emails", get(|| async {
            axum::Json(json!([
                { "email": "old@example.com", "primary": false, "verified": true },
                { "email": "Octo@Example.com", "primary": true, "verified": true }
            ]))
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_sign_in_uses_the_verified_primary_email() {
    let github = fake_github().await;
    let server = TestServer::start_with(TestDb::new().await, move |config| {
        config.oauth.oauth_github_client_id = Some("gh-client".into());
        config.oauth.oauth_github_client_secret = Some("gh-secret".into());
        config.oauth.oauth_github_url = github.parse().unwrap();
        config.oauth.oauth_github_api_url = format!("{github}/api").parse().unwrap();
    })
    .await;
    let browser = browser();
    let started = browser
        .get(server.url("/auth/github/login"))
        .send()
        .await
        .unwrap();
    let to_github = location(&started);
    assert!(
        to_github.contains("code_challenge_method=S256")
            && to_github.contains("scope=read%3Auser+user%3Aemail"),
        "{to_github}"
    );
    let back = location(&browser.get(&to_github).send().await.unwrap());
    let done = browser.get(back).send().await.unwrap();
    assert_eq!(
        done.status(),
        StatusCode::FOUND,
        "{}",
        done.text().await.unwrap_or_default()
    );
    let user = me(&server, &browser).await;
    assert_eq!(user["email"], "octo@example.com");
    assert_eq!(user["verified"], true);
    assert_eq!(
        user["linkedAccounts"],
        json!([{ "provider": "github", "providerAccountId": "4242" }])
    );
    let name: Option<String> = server
        .db
        .client()
        .await
        .query_one("SELECT name FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        name.as_deref(),
        Some("octocat"),
        "the login stands in for a missing name"
    );
    let unconfigured = browser
        .get(server.url("/auth/google/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(unconfigured.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_sign_in_takes_an_unproven_account_back_from_whoever_claimed_it() {
    let provider = OAuthProvider::start(
        json!({ "sub": "oidc-owner", "email": "owner@example.com", "email_verified": true }),
    );
    let server = server_for(&provider, None).await;
    // Someone registered the owner's address with their own password and never verified it.
    let squatter = sign_up(&server, "owner@example.com", "squatters password").await;
    let browser = browser();
    assert_eq!(
        sign_in(&server, &browser, None).await.status(),
        StatusCode::FOUND
    );
    assert_eq!(me(&server, &browser).await["email"], "owner@example.com");
    let squatter_me = server
        .gql_as(Some(&squatter), "{ me { id } }", json!({}))
        .await;
    assert_eq!(
        squatter_me["data"]["me"],
        Value::Null,
        "the squatter's session ended"
    );
    let squatter_sign_in = server
        .gql("mutation { signIn(email: \"owner@example.com\", password: \"squatters password\") { token } }", json!({}))
        .await;
    assert_eq!(
        error_code(&squatter_sign_in),
        Some("UNAUTHENTICATED"),
        "the squatter's password is gone"
    );
}

/// `base` with `extra`'s fields added or replaced.
fn claims(base: &Value, extra: Value) -> Value {
    let mut merged = base.clone();
    for (key, value) in extra.as_object().unwrap() {
        merged[key] = value.clone();
    }
    merged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_tokens_for_another_client_or_not_yet_valid_are_refused() {
    let now = chrono::Utc::now().timestamp();
    let base = json!({ "sub": "oidc-azp", "email": "azp@example.com", "email_verified": true });
    let mut provider = OAuthProvider::start(claims(&base, json!({ "azp": "another-client" })));
    let server = server_for(&provider, None).await;

    let browser = browser();
    let other_client = sign_in(&server, &browser, None).await;
    assert_eq!(other_client.status(), StatusCode::BAD_REQUEST);
    assert!(
        other_client
            .text()
            .await
            .unwrap()
            .contains("could not be verified")
    );

    // Valid an hour from now: beyond the 60 s leeway that expiry has too.
    provider.set_claims(claims(&base, json!({ "nbf": now + 3600 })));
    let early = sign_in(&server, &browser, None).await;
    assert_eq!(early.status(), StatusCode::BAD_REQUEST);
    assert_eq!(me(&server, &browser).await, Value::Null, "no session");
    assert_eq!(server.db.rows("users").await, 0);

    provider.set_claims(claims(
        &base,
        json!({ "azp": "growth-diary", "nbf": now - 5 }),
    ));
    let good = sign_in(&server, &browser, None).await;
    assert_eq!(
        good.status(),
        StatusCode::FOUND,
        "our own azp and a past nbf pass"
    );
    assert_eq!(me(&server, &browser).await["email"], "azp@example.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_names_and_pictures_follow_the_profile_rules() {
    let long_name = format!("  {}\u{0}tail", "é".repeat(150));
    let mut provider = OAuthProvider::start(json!({
        "sub": "oidc-long", "email": "long@example.com", "email_verified": true,
        "name": long_name, "picture": "javascript:alert(document.cookie)"
    }));
    let server = server_for(&provider, None).await;
    let done = sign_in(&server, &browser(), None).await;
    assert_eq!(
        done.status(),
        StatusCode::FOUND,
        "{}",
        done.text().await.unwrap_or_default()
    );
    provider.set_claims(json!({
        "sub": "oidc-fine", "email": "fine@example.com", "email_verified": true,
        "name": "Grace Hopper", "picture": "https://example.com/grace.png"
    }));
    assert_eq!(
        sign_in(&server, &browser(), None).await.status(),
        StatusCode::FOUND
    );
    provider.set_claims(json!({
        "sub": "oidc-huge-picture", "email": "huge@example.com", "email_verified": true,
        "picture": format!("https://example.com/{}", "p".repeat(3000))
    }));
    assert_eq!(
        sign_in(&server, &browser(), None).await.status(),
        StatusCode::FOUND
    );

    let rows = server
        .db
        .client()
        .await
        .query("SELECT email, name, image FROM users ORDER BY email", &[])
        .await
        .unwrap();
    let profiles: Vec<(String, Option<String>, Option<String>)> = rows
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    assert_eq!(
        profiles,
        vec![
            (
                "fine@example.com".to_string(),
                Some("Grace Hopper".to_string()),
                Some("https://example.com/grace.png".to_string())
            ),
            ("huge@example.com".to_string(), None, None),
            ("long@example.com".to_string(), Some("é".repeat(100)), None),
        ],
        "too long: cut at 100 characters; not http(s) or too long: dropped"
    );
}
