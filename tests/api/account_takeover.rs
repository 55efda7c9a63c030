//! Nobody keeps a way into an account they never proved: the pre-registration
//! hijack walked through the real OpenID Connect provider, verification links
//! that only a post from their own page spends, and resets that unlink
//! identities linked before the address was proven.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::mail::{MailServer, token_from};
use crate::harness::oauth::{OAuthProvider, PROVIDER, browser, me, sign_in, use_provider};
use crate::harness::server::error_code;
use crate::harness::{TestDb, TestServer};

const MAIL_WAIT: Duration = Duration::from_secs(15);
const VICTIM: &str = "victim@example.com";
const SQUATTERS_PASSWORD: &str = "squatters password";

fn squatter_identity() -> Value {
    json!({ "sub": "oidc-squatter", "email": "squatter@evil.example", "email_verified": true })
}

fn victim_identity() -> Value {
    json!({ "sub": "oidc-victim", "email": VICTIM, "email_verified": true })
}

/// A server with the provider enabled, mailing through maildev.
async fn server_with(provider: &OAuthProvider, mail: &MailServer) -> TestServer {
    let issuer = provider.issuer.clone();
    let smtp_url = mail.smtp_url();
    TestServer::start_with(TestDb::new().await, move |config| {
        use_provider(config, &issuer, None);
        config.email.smtp_url = Some(smtp_url.into());
    })
    .await
}

/// Signs up from `browser` (so it keeps the session cookie).
async fn sign_up_in(server: &TestServer, browser: &reqwest::Client, email: &str, password: &str) {
    let body: Value = browser
        .post(server.url("/graphql"))
        .json(&json!({
            "query": "mutation($i: SignUpInput!) { signUp(input: $i) { user { id } } }",
            "variables": { "i": { "email": email, "password": password } }
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body["data"]["signUp"]["user"]["id"].is_string(), "{body}");
}

async fn password_sign_in(server: &TestServer, email: &str, password: &str) -> Value {
    server
        .gql(
            "mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }",
            json!({ "e": email, "p": password }),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pre_registered_squatter_keeps_no_way_into_the_owners_account() {
    let mut provider = OAuthProvider::start(squatter_identity());
    let mail = MailServer::start().await;
    let server = server_with(&provider, &mail).await;

    // 1. The squatter registers the victim's address with their own password.
    let squatter = browser();
    sign_up_in(&server, &squatter, VICTIM, SQUATTERS_PASSWORD).await;
    assert_eq!(me(&server, &squatter).await["email"], VICTIM);

    // 2. Signed in, they try to link their own identity: refused, nothing linked.
    let refused = sign_in(&server, &squatter, None).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Confirm your email address first")
    );
    assert_eq!(server.db.rows("accounts").await, 0);

    // 3. A mail scanner fetches the verification link: the page answers, and
    //    nothing is verified or spent.
    let emails = mail.wait_for(VICTIM, 1, MAIL_WAIT).await;
    let token = token_from(&emails[0], "verify-email");
    for _ in 0..2 {
        let scanned = reqwest::get(server.url(&format!("/verify-email?token={token}")))
            .await
            .unwrap();
        assert_eq!(scanned.status(), StatusCode::OK);
        let page = scanned.text().await.unwrap();
        assert!(
            page.contains("<form method=\"post\" action=\"/verify-email\">"),
            "{page}"
        );
    }
    assert_eq!(
        server
            .db
            .rows("users WHERE verified OR email_verified IS NOT NULL")
            .await,
        0,
        "a GET verifies nothing"
    );
    assert_eq!(
        server.db.rows("verification_tokens").await,
        1,
        "a GET spends nothing"
    );

    // 4. The owner signs in with an identity whose provider verified the address.
    provider.set_claims(victim_identity());
    let owner = browser();
    assert_eq!(
        sign_in(&server, &owner, None).await.status(),
        StatusCode::FOUND
    );
    let owners_view = me(&server, &owner).await;
    assert_eq!(owners_view["email"], VICTIM);
    assert_eq!(owners_view["verified"], true);
    assert_eq!(
        owners_view["linkedAccounts"],
        json!([{ "provider": PROVIDER, "providerAccountId": "oidc-victim" }])
    );

    // 5. The squatter's session, password and identity lead nowhere near it.
    assert_eq!(me(&server, &squatter).await, Value::Null, "session ended");
    assert_eq!(
        error_code(&password_sign_in(&server, VICTIM, SQUATTERS_PASSWORD).await),
        Some("UNAUTHENTICATED"),
        "password gone"
    );
    provider.set_claims(squatter_identity());
    let squatter_again = browser();
    assert_eq!(
        sign_in(&server, &squatter_again, None).await.status(),
        StatusCode::FOUND
    );
    let squatters_view = me(&server, &squatter_again).await;
    assert_eq!(
        squatters_view["email"], "squatter@evil.example",
        "their identity signs into an account of their own"
    );
    assert_ne!(squatters_view["id"], owners_view["id"]);
    assert_eq!(
        me(&server, &owner).await["linkedAccounts"],
        owners_view["linkedAccounts"],
        "the owner's account holds only the owner's identity"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verification_page_posts_and_refuses_other_sites() {
    let mail = MailServer::start().await;
    let smtp_url = mail.smtp_url();
    let server = TestServer::start_with(TestDb::new().await, move |config| {
        config.email.smtp_url = Some(smtp_url.into());
    })
    .await;
    sign_up_in(
        &server,
        &browser(),
        "page@example.com",
        "correct horse battery",
    )
    .await;
    let emails = mail.wait_for("page@example.com", 1, MAIL_WAIT).await;
    let token = token_from(&emails[0], "verify-email");

    let page = reqwest::get(server.url(&format!("/verify-email?token={token}")))
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(page.text().await.unwrap().contains(&format!(
        "<input type=\"hidden\" name=\"token\" value=\"{token}\">"
    )));
    let no_token = reqwest::get(server.url("/verify-email")).await.unwrap();
    assert_eq!(no_token.status(), StatusCode::BAD_REQUEST);

    let verified = || async {
        server
            .db
            .rows("users WHERE verified AND email_verified IS NOT NULL")
            .await
    };
    let cross_site = reqwest::Client::new()
        .post(server.url("/verify-email"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let other_origin = reqwest::Client::new()
        .post(server.url("/verify-email"))
        .header("origin", "https://evil.example.com")
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(other_origin.status(), StatusCode::FORBIDDEN);
    assert_eq!(verified().await, 0, "refused posts verify nothing");

    let same_site = reqwest::Client::new()
        .post(server.url("/verify-email"))
        .header("origin", server.base.clone())
        .header("sec-fetch-site", "same-origin")
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(same_site.status(), StatusCode::OK);
    assert!(same_site.text().await.unwrap().contains("Email verified"));
    assert_eq!(verified().await, 1);

    let spent = reqwest::Client::new()
        .post(server.url("/verify-email"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(spent.status(), StatusCode::BAD_REQUEST, "single use");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_unlinks_identities_linked_before_the_email_was_verified() {
    let provider = OAuthProvider::start(json!({
        "sub": "oidc-own", "email": "own@example.com", "email_verified": true
    }));
    let mail = MailServer::start().await;
    let server = server_with(&provider, &mail).await;
    let db = server.db.client().await;

    // Linked before this server refused such links: a verified account with
    // one identity from before its verification and one from after, and an
    // unverified account with one.
    db.batch_execute(
        "INSERT INTO users (email, verified, email_verified) VALUES
             ('early@example.com', true, now() - interval '1 hour'),
             ('never@example.com', false, NULL);
         INSERT INTO accounts (user_id, type, provider, provider_account_id, created_at)
         SELECT id, 'oauth', 'mock', 'before-verification', now() - interval '2 hours'
         FROM users WHERE email = 'early@example.com';
         INSERT INTO accounts (user_id, type, provider, provider_account_id, created_at)
         SELECT id, 'oauth', 'mock', 'after-verification', now() - interval '30 minutes'
         FROM users WHERE email = 'early@example.com';
         INSERT INTO accounts (user_id, type, provider, provider_account_id)
         SELECT id, 'oauth', 'mock', 'unverified-link' FROM users WHERE email = 'never@example.com';",
    )
    .await
    .unwrap();
    // And an account made by a verified OAuth sign-up: its identity is the proof.
    assert_eq!(
        sign_in(&server, &browser(), None).await.status(),
        StatusCode::FOUND
    );

    for email in ["early@example.com", "never@example.com", "own@example.com"] {
        let asked = server
            .gql(
                "mutation($e: String!) { requestPasswordReset(email: $e) }",
                json!({ "e": email }),
            )
            .await;
        assert_eq!(asked["data"]["requestPasswordReset"], true);
        let emails = mail.wait_for(email, 1, MAIL_WAIT).await;
        let token = token_from(&emails[0], "reset-password");
        let reset = server
            .gql(
                "mutation($t: String!) { resetPassword(token: $t, newPassword: \"a brand new password\") { user { verified } } }",
                json!({ "t": token }),
            )
            .await;
        assert_eq!(
            reset["data"]["resetPassword"]["user"]["verified"], true,
            "{reset}"
        );
    }

    let left: Vec<String> = db
        .query(
            "SELECT provider_account_id FROM accounts ORDER BY provider_account_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(left, vec!["after-verification", "oidc-own"]);
}
