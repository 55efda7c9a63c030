//! Accounts end to end: sign-up, sessions, verification and reset from real
//! email (maildev), limits, CSRF, export and deletion.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::{Value, json};

use crate::harness::mail::{MailServer, token_from};
use crate::harness::server::{error_code, me, sign_up};
use crate::harness::{TestDb, TestServer};

const PASSWORD: &str = "correct horse battery";
const MAIL_WAIT: Duration = Duration::from_secs(15);

async fn server_with_mail() -> (TestServer, MailServer) {
    let mail = MailServer::start().await;
    let smtp_url = mail.smtp_url();
    let server = TestServer::start_with(TestDb::new().await, move |config| {
        config.email.smtp_url = Some(smtp_url.into());
    })
    .await;
    (server, mail)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_then_verify_from_the_received_email() {
    let (server, mail) = server_with_mail().await;
    let token = sign_up(&server, "  Ada@Example.com ", PASSWORD).await;
    let body = server
        .gql_as(Some(&token), "{ me { email verified } }", json!({}))
        .await;
    assert_eq!(
        body["data"]["me"],
        json!({ "email": "ada@example.com", "verified": false })
    );

    let emails = mail.wait_for("ada@example.com", 1, MAIL_WAIT).await;
    assert_eq!(emails.len(), 1, "one verification email arrives");
    assert!(
        emails[0]["html"]
            .as_str()
            .is_some_and(|html| html.contains("/verify-email?token=")),
        "an HTML part too"
    );
    let link_token = token_from(&emails[0], "verify-email");

    let verified = server
        .gql(
            "mutation($t: String!) { verifyEmail(token: $t) { verified } }",
            json!({ "t": link_token }),
        )
        .await;
    assert_eq!(
        verified["data"]["verifyEmail"]["verified"], true,
        "{verified}"
    );
    let again = server
        .gql(
            "mutation($t: String!) { verifyEmail(token: $t) { verified } }",
            json!({ "t": link_token }),
        )
        .await;
    assert_eq!(
        error_code(&again),
        Some("BAD_USER_INPUT"),
        "a verification token works once"
    );
    let row = server
        .db
        .client()
        .await
        .query_one("SELECT email_verified IS NOT NULL FROM users", &[])
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0), "email_verified is set");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verification_link_works_as_a_page() {
    let (server, mail) = server_with_mail().await;
    let token = sign_up(&server, "page@example.com", PASSWORD).await;
    server
        .gql_as(
            Some(&token),
            "mutation { resendVerificationEmail }",
            json!({}),
        )
        .await;
    let emails = mail.wait_for("page@example.com", 2, MAIL_WAIT).await;
    assert_eq!(emails.len(), 2);
    // Only the newest link works: a resend voids the older token.
    let newest = emails
        .iter()
        .map(|e| token_from(e, "verify-email"))
        .collect::<Vec<_>>();
    // The link opens a page whose button posts the token (a GET spends nothing).
    for token in &newest {
        let page = server
            .client
            .get(server.url(&format!("/verify-email?token={token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    }
    let post = |token: String| {
        server
            .client
            .post(server.url("/verify-email"))
            .form(&[("token", token)])
            .send()
    };
    let page = post(newest[1].clone()).await.unwrap();
    let old_page = post(newest[0].clone()).await.unwrap();
    let (ok, stale) = if page.status() == StatusCode::OK {
        (page, old_page)
    } else {
        (old_page, page)
    };
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["referrer-policy"], "no-referrer");
    assert_eq!(stale.status(), StatusCode::BAD_REQUEST);
    let body = server
        .gql_as(Some(&token), "{ me { verified } }", json!({}))
        .await;
    assert_eq!(body["data"]["me"]["verified"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_work_by_bearer_and_cookie_and_end_on_sign_out() {
    let server = TestServer::start().await;
    let response = server
        .client
        .post(server.url("/graphql"))
        .json(&json!({ "query": "mutation($i: SignUpInput!) { signUp(input: $i) { token expiresAt user { id email } } }",
                        "variables": { "i": { "email": "s@example.com", "password": PASSWORD } } }))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(cookie.starts_with("growth_diary_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let body: Value = response.json().await.unwrap();
    let token = body["data"]["signUp"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(token.len(), 43, "256 random bits in base64url");
    let user_id = body["data"]["signUp"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The cookie store of the client carries the cookie.
    let by_cookie = server.gql_with_cookies("{ me { id } }", json!({})).await;
    assert_eq!(by_cookie["data"]["me"]["id"], user_id.as_str());
    assert_eq!(me(&server, &token).await.as_deref(), Some(user_id.as_str()));

    // Only a hash is stored.
    let stored: Vec<u8> = server
        .db
        .client()
        .await
        .query_one("SELECT session_token_sha256 FROM sessions", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored.len(), 32);
    assert!(!String::from_utf8_lossy(&stored).contains(&token));

    let out = server
        .gql_as(Some(&token), "mutation { signOut }", json!({}))
        .await;
    assert_eq!(out["data"]["signOut"], true);
    assert_eq!(
        me(&server, &token).await,
        None,
        "a revoked token is anonymous"
    );
    let denied = server
        .gql_as(Some(&token), "mutation { signOutEverywhere }", json!({}))
        .await;
    assert_eq!(error_code(&denied), Some("UNAUTHENTICATED"));
    let garbage = server
        .gql_as(Some("not-a-token"), "{ me { id } }", json!({}))
        .await;
    assert_eq!(garbage["data"]["me"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_answers_the_same_for_unknown_email_and_wrong_password() {
    let server = TestServer::start().await;
    sign_up(&server, "known@example.com", PASSWORD).await;
    let sign_in =
        "mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }";
    let wrong_password = server
        .gql(
            sign_in,
            json!({ "e": "known@example.com", "p": "wrong password!" }),
        )
        .await;
    let unknown_email = server
        .gql(
            sign_in,
            json!({ "e": "nobody@example.com", "p": "wrong password!" }),
        )
        .await;
    assert_eq!(error_code(&wrong_password), Some("UNAUTHENTICATED"));
    assert_eq!(
        wrong_password["errors"][0]["message"],
        unknown_email["errors"][0]["message"]
    );
    // Everything but the request's own id is the same.
    let extensions = |body: &Value| {
        let mut extensions = body["errors"][0]["extensions"].clone();
        extensions["requestId"].take();
        extensions
    };
    assert_eq!(extensions(&wrong_password), extensions(&unknown_email));

    let ok = server
        .gql(sign_in, json!({ "e": " KNOWN@example.com", "p": PASSWORD }))
        .await;
    assert!(ok["data"]["signIn"]["token"].is_string(), "{ok}");

    let too_long = server
        .gql(
            sign_in,
            json!({ "e": "known@example.com", "p": "x".repeat(129) }),
        )
        .await;
    assert_eq!(error_code(&too_long), Some("BAD_USER_INPUT"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_rejects_bad_input_and_taken_emails() {
    let server = TestServer::start().await;
    let sign_up_query = "mutation($i: SignUpInput!) { signUp(input: $i) { token } }";
    let cases = [
        (
            json!({ "email": "not-an-email", "password": PASSWORD }),
            "email",
        ),
        (
            json!({ "email": "a@example.com", "password": "short" }),
            "password",
        ),
        (
            json!({ "email": "a@example.com", "password": "x".repeat(129) }),
            "password",
        ),
        (
            json!({ "email": "a@example.com", "password": PASSWORD, "name": "n".repeat(101) }),
            "name",
        ),
    ];
    for (input, field) in cases {
        let body = server.gql(sign_up_query, json!({ "i": input })).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field);
    }
    sign_up(&server, "taken@example.com", PASSWORD).await;
    let body = server
        .gql(
            sign_up_query,
            json!({ "i": { "email": "Taken@example.com", "password": PASSWORD } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("CONFLICT"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_reset_flow_from_the_received_link() {
    let (server, mail) = server_with_mail().await;
    let old_session = sign_up(&server, "reset@example.com", PASSWORD).await;
    let second_session = {
        let body = server
            .gql("mutation { signIn(email: \"reset@example.com\", password: \"correct horse battery\") { token } }", json!({}))
            .await;
        body["data"]["signIn"]["token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let request = server
        .gql(
            "mutation { requestPasswordReset(email: \"reset@example.com\") }",
            json!({}),
        )
        .await;
    assert_eq!(request["data"]["requestPasswordReset"], true);
    let emails = mail.wait_for("reset@example.com", 2, MAIL_WAIT).await;
    let reset_email = emails
        .iter()
        .find(|e| e["subject"] == "Reset your password")
        .expect("the reset email arrives");
    let token = token_from(reset_email, "reset-password");

    // The link opens the server's own form.
    let form = server
        .client
        .get(server.url(&format!("/reset-password?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    assert_eq!(form.headers()["referrer-policy"], "no-referrer");
    assert!(
        form.text()
            .await
            .unwrap()
            .contains(&format!("value=\"{token}\""))
    );

    let submitted = reqwest::Client::new()
        .post(server.url("/reset-password"))
        .form(&[
            ("token", token.as_str()),
            ("password", "brand new password"),
            ("confirm", "brand new password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), StatusCode::OK);
    let cookie = submitted.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("growth_diary_session="));

    // Old sessions ended; the new one works; the new password signs in; the old does not.
    assert_eq!(me(&server, &old_session).await, None);
    assert_eq!(me(&server, &second_session).await, None);
    let by_new_cookie = reqwest::Client::new()
        .post(server.url("/graphql"))
        .header(COOKIE, &cookie)
        .json(&json!({ "query": "{ me { email } }" }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(by_new_cookie["data"]["me"]["email"], "reset@example.com");
    let sign_in =
        "mutation($p: String!) { signIn(email: \"reset@example.com\", password: $p) { token } }";
    assert!(
        server
            .gql(sign_in, json!({ "p": "brand new password" }))
            .await["data"]["signIn"]["token"]
            .is_string()
    );
    assert_eq!(
        error_code(&server.gql(sign_in, json!({ "p": PASSWORD })).await),
        Some("UNAUTHENTICATED")
    );

    // The token works once.
    let reuse = server
        .gql(
            "mutation($t: String!) { resetPassword(token: $t, newPassword: \"another password\") { token } }",
            json!({ "t": token }),
        )
        .await;
    assert_eq!(error_code(&reuse), Some("BAD_USER_INPUT"));
    assert_eq!(reuse["errors"][0]["extensions"]["field"], "token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_tokens_expire_are_voided_by_newer_ones_and_have_one_winner() {
    let (server, mail) = server_with_mail().await;
    sign_up(&server, "race@example.com", PASSWORD).await;
    let request = "mutation { requestPasswordReset(email: \"race@example.com\") }";
    server.gql(request, json!({})).await;
    server.gql(request, json!({})).await;
    let emails: Vec<Value> = mail
        .wait_for("race@example.com", 3, MAIL_WAIT)
        .await
        .into_iter()
        .filter(|e| e["subject"] == "Reset your password")
        .collect();
    assert_eq!(emails.len(), 2);
    let tokens: Vec<String> = emails
        .iter()
        .map(|e| token_from(e, "reset-password"))
        .collect();
    let reset = "mutation($t: String!) { resetPassword(token: $t, newPassword: \"a new password\") { token } }";

    // Exactly one of the two tokens is still valid: the newer voided the older.
    // Fire both valid-token uses at once: exactly one may win.
    let attempts = futures_util::future::join_all(
        tokens
            .iter()
            .chain(tokens.iter())
            .map(|t| server.gql(reset, json!({ "t": t }))),
    )
    .await;
    let wins = attempts
        .iter()
        .filter(|body| body["data"]["resetPassword"]["token"].is_string())
        .count();
    assert_eq!(wins, 1, "{attempts:?}");

    // An expired token does not work.
    server.gql(request, json!({})).await;
    let fresh = mail.wait_for("race@example.com", 4, MAIL_WAIT).await;
    let newest = token_from(fresh.last().unwrap(), "reset-password");
    server
        .db
        .client()
        .await
        .execute(
            "UPDATE password_resets SET expires_at = now() - interval '1 second'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        error_code(&server.gql(reset, json!({ "t": newest })).await),
        Some("BAD_USER_INPUT")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_requests_answer_true_for_unknown_emails_and_send_nothing() {
    let (server, mail) = server_with_mail().await;
    for email in ["ghost@example.com", "not an email"] {
        let body = server
            .gql(
                "mutation($e: String!) { requestPasswordReset(email: $e) }",
                json!({ "e": email }),
            )
            .await;
        assert_eq!(body, json!({ "data": { "requestPasswordReset": true } }));
    }
    // Emails leave in the order they were queued: once a later one arrived,
    // any email these requests had queued would be there too.
    sign_up(&server, "marker@example.com", PASSWORD).await;
    mail.wait_for("marker@example.com", 1, MAIL_WAIT).await;
    let emails = mail.emails().await;
    assert_eq!(emails.len(), 1, "only the marker's email: {emails:?}");
    // Nothing else waits in the outbox either. (The marker's own row may
    // still be there for a moment: the server receives the email before the
    // sender removes the row.)
    let rows: i64 = server
        .db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM email_outbox WHERE recipient <> 'marker@example.com'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_outage_loses_no_email() {
    let (server, mut mail) = server_with_mail().await;
    sign_up(&server, "outage@example.com", PASSWORD).await;
    mail.wait_for("outage@example.com", 1, MAIL_WAIT).await;
    mail.down();
    let body = server
        .gql(
            "mutation { requestPasswordReset(email: \"outage@example.com\") }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["requestPasswordReset"], true);
    // The worker fails at least once while the server is down.
    let client = server.db.client().await;
    let deadline = tokio::time::Instant::now() + MAIL_WAIT;
    loop {
        let failed: i64 = client
            .query_one(
                "SELECT count(*) FROM email_outbox WHERE last_error IS NOT NULL",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if failed > 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker never recorded a failed delivery while SMTP was down"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pending: i64 = client
        .query_one("SELECT count(*) FROM email_outbox", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(pending, 1, "the email waits in the outbox");
    mail.up().await;
    let emails = mail
        .wait_for("outage@example.com", 1, Duration::from_secs(30))
        .await;
    assert!(
        emails.iter().any(|e| e["subject"] == "Reset your password"),
        "the email arrives once SMTP is back"
    );
    // The worker deletes the row once the SMTP server has answered, which can
    // be just after the mail shows up there.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let pending = loop {
        let pending: i64 = client
            .query_one("SELECT count(*) FROM email_outbox", &[])
            .await
            .unwrap()
            .get(0);
        if pending == 0 || tokio::time::Instant::now() >= deadline {
            break pending;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(pending, 0, "sent email leaves the outbox");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_and_reset_requests_are_limited() {
    let server = TestServer::start().await;
    sign_up(&server, "limited@example.com", PASSWORD).await;
    let sign_in =
        "mutation($p: String!) { signIn(email: \"limited@example.com\", password: $p) { token } }";
    for _ in 0..10 {
        let body = server.gql(sign_in, json!({ "p": "wrong password!" })).await;
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
    }
    let limited = server.gql(sign_in, json!({ "p": PASSWORD })).await;
    assert_eq!(
        error_code(&limited),
        Some("RATE_LIMITED"),
        "even the right password waits: {limited}"
    );
    let retry_after = limited["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap();
    assert!(retry_after > 0 && retry_after <= 15 * 60);

    let reset = "mutation { requestPasswordReset(email: \"limited@example.com\") }";
    for _ in 0..3 {
        assert_eq!(
            server.gql(reset, json!({})).await["data"]["requestPasswordReset"],
            true
        );
    }
    let limited = server.gql(reset, json!({})).await;
    assert_eq!(error_code(&limited), Some("RATE_LIMITED"));
    assert!(
        limited["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_authenticated_simple_posts_are_refused() {
    let server = TestServer::start().await;
    let signed_up = server
        .gql_with_cookies(
            "mutation { signUp(input: { email: \"csrf@example.com\", password: \"correct horse battery\" }) { token } }",
            json!({}),
        )
        .await;
    assert!(
        signed_up["data"]["signUp"]["token"].is_string(),
        "the client now holds the cookie"
    );
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let response = server
            .client
            .post(server.url("/graphql"))
            .header(CONTENT_TYPE, content_type)
            .body(r#"{"query":"mutation { signOutEverywhere }"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{content_type}");
    }
    // A preflight-forcing header makes the same request acceptable.
    let response = server
        .client
        .post(server.url("/graphql"))
        .header(CONTENT_TYPE, "text/plain")
        .header("apollo-require-preflight", "true")
        .body(r#"{"query":"{ me { email } }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.json::<Value>().await.unwrap()["data"]["me"]["email"],
        "csrf@example.com"
    );
    let sessions: i64 = server
        .db
        .client()
        .await
        .query_one("SELECT count(*) FROM sessions", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(sessions, 1, "no refused request ended a session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_only_the_configured_origins() {
    let server = TestServer::start_with(TestDb::new().await, |config| {
        config.cors_origins = vec!["https://app.example.com".into()];
    })
    .await;
    let preflight = |origin: &'static str| {
        server
            .client
            .request(reqwest::Method::OPTIONS, server.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_eq!(
        allowed.headers()["access-control-allow-credentials"],
        "true"
    );
    let refused = preflight("https://evil.example.com").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_updates_are_validated_and_partial() {
    let server = TestServer::start().await;
    let token = sign_up(&server, "profile@example.com", PASSWORD).await;
    let update = "mutation($i: ProfileInput!) { updateProfile(input: $i) { name bio yearsOfExperience currentSkills experienceLevel } }";
    let body = server
        .gql_as(Some(&token), update, json!({ "i": { "bio": "Learning Rust", "yearsOfExperience": 3, "currentSkills": ["Rust", "SQL"], "experienceLevel": "SENIOR" } }))
        .await;
    assert_eq!(
        body["data"]["updateProfile"],
        json!({ "name": "Ada", "bio": "Learning Rust", "yearsOfExperience": 3, "currentSkills": ["Rust", "SQL"], "experienceLevel": "SENIOR" })
    );
    let cleared = server
        .gql_as(Some(&token), update, json!({ "i": { "bio": null } }))
        .await;
    assert_eq!(cleared["data"]["updateProfile"]["bio"], Value::Null);
    assert_eq!(
        cleared["data"]["updateProfile"]["yearsOfExperience"], 3,
        "fields not given stay"
    );
    for (input, field) in [
        (json!({ "yearsOfExperience": 81 }), "yearsOfExperience"),
        (json!({ "bio": "b".repeat(2001) }), "bio"),
        (
            json!({ "targetSkills": vec!["x"; 51].iter().enumerate().map(|(i, _)| i.to_string()).collect::<Vec<_>>() }),
            "targetSkills",
        ),
        (json!({ "image": "ftp://example.com/a.png" }), "image"),
    ] {
        let body = server
            .gql_as(Some(&token), update, json!({ "i": input }))
            .await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field);
    }
    let anonymous = server.gql(update, json!({ "i": { "bio": "x" } })).await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_password_checks_the_current_one_and_ends_other_sessions() {
    let server = TestServer::start().await;
    let current = sign_up(&server, "change@example.com", PASSWORD).await;
    let other = server
        .gql("mutation { signIn(email: \"change@example.com\", password: \"correct horse battery\") { token } }", json!({}))
        .await["data"]["signIn"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let change = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";
    let wrong = server
        .gql_as(
            Some(&current),
            change,
            json!({ "c": "not my password", "n": "a new password" }),
        )
        .await;
    assert_eq!(error_code(&wrong), Some("UNAUTHENTICATED"));
    let weak = server
        .gql_as(
            Some(&current),
            change,
            json!({ "c": PASSWORD, "n": "short" }),
        )
        .await;
    assert_eq!(weak["errors"][0]["extensions"]["field"], "newPassword");
    let ok = server
        .gql_as(
            Some(&current),
            change,
            json!({ "c": PASSWORD, "n": "a new password" }),
        )
        .await;
    assert_eq!(ok["data"]["changePassword"], true);
    assert!(
        me(&server, &current).await.is_some(),
        "the current session stays"
    );
    assert_eq!(me(&server, &other).await, None, "other sessions end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_holds_everything_owned_and_no_secret() {
    let server = TestServer::start().await;
    let token = sign_up(&server, "export@example.com", PASSWORD).await;
    let user_id = me(&server, &token).await.unwrap();
    let client = server.db.client().await;
    client
        .batch_execute(&format!(
            "INSERT INTO posts (author_id, title, content, status) VALUES ('{user_id}', 'My post', 'Body', 'PUBLISHED');
             INSERT INTO goals (user_id, title, period, deadline) VALUES ('{user_id}', 'Ship it', 'WEEKLY', now() + interval '7 days');
             INSERT INTO stories (user_id, period, content) VALUES ('{user_id}', '2026-11', 'A story');
             INSERT INTO likes (user_id, post_id) SELECT '{user_id}', id FROM posts;
             INSERT INTO replies (author_id, post_id, content) SELECT '{user_id}', id, 'A reply' FROM posts;
             INSERT INTO accounts (user_id, type, provider, provider_account_id, access_token) VALUES ('{user_id}', 'oauth', 'github', '42', 'secret-access-token');
             INSERT INTO users (email) VALUES ('actor@example.com');
             INSERT INTO notifications (recipient_id, actor_id, kind, post_id)
                 SELECT '{user_id}', (SELECT id FROM users WHERE email = 'actor@example.com'), 'POST_LIKED', id FROM posts;
             INSERT INTO quarantined_values (user_id, table_name, row_id, column_name, original)
                 SELECT '{user_id}', 'posts', id, 'content', 'A body longer than the rules allow' FROM posts;"
        ))
        .await
        .unwrap();
    let body = server
        .gql_as(Some(&token), "{ exportMyData }", json!({}))
        .await;
    let export = &body["data"]["exportMyData"];
    assert_eq!(export["profile"]["email"], "export@example.com");
    assert_eq!(export["posts"][0]["title"], "My post");
    assert_eq!(export["goals"][0]["title"], "Ship it");
    assert_eq!(export["stories"][0]["content"], "A story");
    assert_eq!(export["likes"].as_array().unwrap().len(), 1);
    assert_eq!(export["replies"][0]["content"], "A reply");
    assert_eq!(export["linkedAccounts"][0]["provider"], "github");
    assert_eq!(export["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(
        export["quarantinedValues"][0]["original"],
        "A body longer than the rules allow"
    );
    assert!(
        export["securityEvents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "sign_up")
    );
    let text = export.to_string();
    assert!(
        !text.contains("secret-access-token") && !text.contains(&token) && !text.contains("argon2"),
        "{text}"
    );
    assert_eq!(
        error_code(&server.gql_as(None, "{ exportMyData }", json!({})).await),
        Some("UNAUTHENTICATED")
    );
    export_matches_the_catalog(&client, export).await;
}

/// Every table that points at `users` is either a section of the export,
/// holding every column but the named secrets, or deliberately left out.
async fn export_matches_the_catalog(client: &tokio_postgres::Client, export: &Value) {
    // table -> (section, columns that are secrets and stay out)
    let sections: &[(&str, &str, &[&str])] = &[
        ("users", "profile", &["password_hash"]),
        ("goals", "goals", &[]),
        ("posts", "posts", &[]),
        ("replies", "replies", &[]),
        ("likes", "likes", &[]),
        ("stories", "stories", &[]),
        (
            "accounts",
            "linkedAccounts",
            &["access_token", "refresh_token", "id_token"],
        ),
        ("sessions", "sessions", &["session_token_sha256"]),
        ("audit_events", "securityEvents", &[]),
        ("notifications", "notifications", &[]),
        ("quarantined_values", "quarantinedValues", &[]),
    ];
    // Single-use secrets and a delivery queue: nothing in them is the user's data.
    let left_out = ["password_resets", "email_outbox"];
    let owning: Vec<String> = client
        .query(
            "SELECT DISTINCT conrelid::regclass::text FROM pg_constraint
             WHERE contype = 'f' AND confrelid = 'users'::regclass",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    for table in &owning {
        assert!(
            left_out.contains(&table.as_str()) || sections.iter().any(|(t, ..)| t == table),
            "{table} points at users but is neither exported nor left out on purpose"
        );
    }
    for (table, section, secrets) in sections {
        let columns: Vec<String> = client
            .query(
                "SELECT column_name::text FROM information_schema.columns
                 WHERE table_schema = 'public' AND table_name = $1",
                &[table],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        let row = if *section == "profile" {
            &export[*section]
        } else {
            &export[*section][0]
        };
        for column in columns {
            let exported = row.get(column.as_str()).is_some();
            let secret = secrets.contains(&column.as_str());
            assert!(
                exported != secret,
                "{table}.{column}: exported {exported}, secret {secret}: {row}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_account_leaves_no_row_of_the_user() {
    let (server, mail) = server_with_mail().await;
    let token = sign_up(&server, "leaving@example.com", PASSWORD).await;
    mail.wait_for("leaving@example.com", 1, MAIL_WAIT).await;
    let user_id: uuid::Uuid = me(&server, &token).await.unwrap().parse().unwrap();
    let client = server.db.client().await;
    client
        .execute(
            "INSERT INTO posts (author_id, title, content) VALUES ($1, 't', 'c')",
            &[&user_id],
        )
        .await
        .unwrap();
    server
        .gql(
            "mutation { requestPasswordReset(email: \"leaving@example.com\") }",
            json!({}),
        )
        .await;

    let no_password = server
        .gql_as(Some(&token), "mutation { deleteAccount }", json!({}))
        .await;
    assert_eq!(no_password["errors"][0]["extensions"]["field"], "password");
    let wrong = server
        .gql_as(
            Some(&token),
            "mutation { deleteAccount(password: \"wrong one!\") }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&wrong), Some("UNAUTHENTICATED"));
    let deleted = server
        .gql_as(
            Some(&token),
            "mutation($p: String) { deleteAccount(password: $p) }",
            json!({ "p": PASSWORD }),
        )
        .await;
    assert_eq!(deleted["data"]["deleteAccount"], true, "{deleted}");

    let owned = client
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = 'public' AND data_type = 'uuid' AND column_name IN ('user_id', 'author_id', 'id')",
            &[],
        )
        .await
        .unwrap();
    for row in owned {
        let (table, column): (String, String) = (row.get(0), row.get(1));
        let count: i64 = client
            .query_one(
                &format!("SELECT count(*) FROM {table} WHERE {column} = $1"),
                &[&user_id],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(count, 0, "{table}.{column} still holds the user");
    }
    let leftovers: i64 = client
        .query_one(
            "SELECT (SELECT count(*) FROM verification_tokens WHERE identifier = 'leaving@example.com')
                  + (SELECT count(*) FROM email_outbox WHERE recipient = 'leaving@example.com')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(leftovers, 0);
    assert_eq!(me(&server, &token).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guesses_cannot_pass_the_limit() {
    let server = TestServer::start().await;
    sign_up(&server, "target@example.com", PASSWORD).await;
    let sign_in =
        "mutation($p: String!) { signIn(email: \"target@example.com\", password: $p) { token } }";
    let answers = futures_util::future::join_all(
        (0..30).map(|i| server.gql(sign_in, json!({ "p": format!("guess number {i}") }))),
    )
    .await;
    let checked = answers
        .iter()
        .filter(|body| error_code(body) == Some("UNAUTHENTICATED"))
        .count();
    let limited = answers
        .iter()
        .filter(|body| error_code(body) == Some("RATE_LIMITED"))
        .count();
    assert_eq!(checked, 10, "only 10 guesses are checked");
    assert_eq!(limited, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reset_form_refuses_other_sites() {
    let (server, mail) = server_with_mail().await;
    sign_up(&server, "form@example.com", PASSWORD).await;
    server
        .gql(
            "mutation { requestPasswordReset(email: \"form@example.com\") }",
            json!({}),
        )
        .await;
    let emails = mail.wait_for("form@example.com", 2, MAIL_WAIT).await;
    let token = token_from(
        emails
            .iter()
            .find(|e| e["subject"] == "Reset your password")
            .unwrap(),
        "reset-password",
    );
    let form = [
        ("token", token.as_str()),
        ("password", "brand new password"),
        ("confirm", "brand new password"),
    ];
    let cross_site = reqwest::Client::new()
        .post(server.url("/reset-password"))
        .header("origin", "https://evil.example.com")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert!(cross_site.headers().get(SET_COOKIE).is_none());
    let same_site = reqwest::Client::new()
        .post(server.url("/reset-password"))
        .header("origin", server.base.clone())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        same_site.status(),
        StatusCode::OK,
        "the token was not spent by the refused post"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_the_outbox_and_send_each_email_once() {
    let mail = MailServer::start().await;
    let db = std::sync::Arc::new(TestDb::new().await);
    let smtp = mail.smtp_url();
    let with_mail = |smtp: String| {
        move |config: &mut growth_diary::config::ServeConfig| {
            config.email.smtp_url = Some(smtp.into())
        }
    };
    let first = TestServer::start_with(db.clone(), with_mail(smtp.clone())).await;
    let second = TestServer::start_with(db.clone(), with_mail(smtp)).await;
    futures_util::future::join_all((0..12).map(|i| {
        let server = if i % 2 == 0 { &first } else { &second };
        async move { sign_up(server, &format!("user{i}@example.com"), PASSWORD).await }
    }))
    .await;
    // Done when the outbox is empty: a row leaves it only after its email was
    // handed to SMTP, so every send, a duplicate included, has happened.
    let client = db.client().await;
    let deadline = tokio::time::Instant::now() + MAIL_WAIT;
    loop {
        let pending: i64 = client
            .query_one("SELECT count(*) FROM email_outbox", &[])
            .await
            .unwrap()
            .get(0);
        if pending == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{pending} emails still queued"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // maildev lists a message shortly after accepting it.
    let mut emails = mail.emails().await;
    while emails.len() < 12 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        emails = mail.emails().await;
    }
    let mut recipients: Vec<String> = emails
        .iter()
        .map(|e| {
            e["to"][0]["address"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(emails.len(), 12, "each email is sent exactly once");
    assert_eq!(recipients.len(), 12);
    let pending: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM email_outbox", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(pending, 0);
}
