//! Strangers cannot lock the owner out: guessers spread over many addresses
//! fill the email's ceiling, yet the owner's browser, carrying the device
//! cookie of an earlier sign-in, signs in at once; a browser without one is
//! told that a reset works, and it does. Device cookies that this server did
//! not sign for this email give no exemption.

use std::sync::Arc;
use std::time::Duration;

use reqwest::cookie::{CookieStore, Jar};
use serde_json::{Value, json};

use crate::harness::mail::{MailServer, token_from};
use crate::harness::server::{error_code, sign_up};
use crate::harness::{TestDb, TestServer};

const VICTIM: &str = "victim@example.com";
const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "a brand new passphrase";
const STRANGER: &str = "stranger@example.com";
/// The owner's usual address.
const OWNER_IP: &str = "198.51.100.7";
const MAIL_WAIT: Duration = Duration::from_secs(15);
const SIGN_IN: &str =
    "mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }";

/// A server behind a (pretend) proxy of our own that mails through maildev.
async fn server_with(mail: &MailServer) -> TestServer {
    let smtp_url = mail.smtp_url();
    TestServer::start_with(TestDb::new().await, move |config| {
        config.trust_proxy = true;
        config.email.smtp_url = Some(smtp_url.into());
    })
    .await
}

/// A client that keeps cookies, as a browser does, in a jar the test can read.
fn browser() -> (reqwest::Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    (client, jar)
}

/// POSTs an operation through the proxy from `ip`, with `cookie` (a raw
/// `Cookie` header) when given.
async fn post_from(
    client: &reqwest::Client,
    server: &TestServer,
    ip: &str,
    cookie: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = client
        .post(server.url("/graphql"))
        .header("x-forwarded-for", ip)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap().json().await.unwrap()
}

/// `signIn` from `client` and `ip`.
async fn sign_in(
    client: &reqwest::Client,
    server: &TestServer,
    ip: &str,
    cookie: Option<&str>,
    email: &str,
    password: &str,
) -> Value {
    let variables = json!({ "e": email, "p": password });
    post_from(client, server, ip, cookie, SIGN_IN, variables).await
}

fn signed_in(body: &Value) -> bool {
    body["data"]["signIn"]["token"].is_string()
}

/// The device cookie (`name=value`) in `jar` for `server`.
fn device_cookie(jar: &Jar, server: &TestServer) -> String {
    let header = jar
        .cookies(&server.url("/").parse().unwrap())
        .expect("the jar holds cookies for the server");
    header
        .to_str()
        .unwrap()
        .split("; ")
        .find(|pair| pair.starts_with("growth_diary_device="))
        .expect("a device cookie was set")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_on_many_addresses_cannot_lock_the_owner_out() {
    let mail = MailServer::start().await;
    let server = server_with(&mail).await;
    let plain = reqwest::Client::new();
    sign_up(&server, VICTIM, PASSWORD).await;
    sign_up(&server, STRANGER, PASSWORD).await;

    // The owner's browser signed in before, from their usual address; the
    // stranger signed in to their own account.
    let (owner, owner_jar) = browser();
    let earlier = sign_in(&owner, &server, OWNER_IP, None, VICTIM, PASSWORD).await;
    assert!(signed_in(&earlier), "{earlier}");
    let owners_cookie = device_cookie(&owner_jar, &server);
    let (stranger, _) = browser();
    let own = sign_in(&stranger, &server, "192.0.2.1", None, STRANGER, PASSWORD).await;
    assert!(signed_in(&own), "{own}");

    // 11 addresses x 10 wrong passwords: the first ten addresses use their
    // share of the email's ceiling (100), the eleventh meets the ceiling.
    for address in 1..=11 {
        for guess in 1..=10 {
            let ip = format!("203.0.113.{address}");
            let body = sign_in(&plain, &server, &ip, None, VICTIM, "a wrong guess").await;
            let expected = if address <= 10 {
                "UNAUTHENTICATED"
            } else {
                "RATE_LIMITED"
            };
            assert_eq!(
                error_code(&body),
                Some(expected),
                "address {address}, guess {guess}: {body}"
            );
        }
    }

    // The owner's browser, with its device cookie, signs in at once.
    let owner_now = sign_in(&owner, &server, OWNER_IP, None, VICTIM, PASSWORD).await;
    assert!(signed_in(&owner_now), "{owner_now}");

    // Without it, even the right password from the usual address is refused,
    // and the answer says how to get in.
    let no_device = sign_in(&plain, &server, OWNER_IP, None, VICTIM, PASSWORD).await;
    assert_eq!(error_code(&no_device), Some("RATE_LIMITED"), "{no_device}");
    let retry_after = no_device["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap();
    assert!(retry_after > 0 && retry_after <= 15 * 60, "{no_device}");
    let message = no_device["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("reset your password"), "{message}");

    // A device cookie for another email, a changed one, a made-up one: no exemption.
    let others = sign_in(&stranger, &server, OWNER_IP, None, VICTIM, PASSWORD).await;
    assert_eq!(error_code(&others), Some("RATE_LIMITED"), "{others}");
    let mut tampered = owners_cookie.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let forged = format!(
        "growth_diary_device=v1.{}.AAAAAAAAAAAAAAAAAAAAAA.{}",
        chrono::Utc::now().timestamp(),
        "A".repeat(43)
    );
    for cookie in [&tampered, &forged] {
        let body = sign_in(&plain, &server, OWNER_IP, Some(cookie), VICTIM, PASSWORD).await;
        assert_eq!(error_code(&body), Some("RATE_LIMITED"), "{cookie}: {body}");
    }

    // Wrong passwords from the owner's device count against that device only
    // (ten of them, never refused for the strangers' failures); then the
    // device is not trusted for the rest of the window.
    for guess in 1..=10 {
        let body = sign_in(&owner, &server, OWNER_IP, None, VICTIM, "a slip").await;
        assert_eq!(
            error_code(&body),
            Some("UNAUTHENTICATED"),
            "slip {guess}: {body}"
        );
    }
    let spent = sign_in(&owner, &server, OWNER_IP, None, VICTIM, PASSWORD).await;
    assert_eq!(error_code(&spent), Some("RATE_LIMITED"), "{spent}");

    // The way out the answer named: a reset, by email, completed.
    let asked = post_from(
        &plain,
        &server,
        OWNER_IP,
        None,
        "mutation($e: String!) { requestPasswordReset(email: $e) }",
        json!({ "e": VICTIM }),
    )
    .await;
    assert_eq!(asked["data"]["requestPasswordReset"], true, "{asked}");
    let emails = mail.wait_for(VICTIM, 2, MAIL_WAIT).await;
    let reset_email = emails
        .iter()
        .find(|email| {
            email["text"]
                .as_str()
                .unwrap_or("")
                .contains("/reset-password?token=")
        })
        .expect("the reset email arrived");
    let reset = post_from(
        &plain,
        &server,
        OWNER_IP,
        None,
        "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) { token } }",
        json!({ "t": token_from(reset_email, "reset-password"), "p": NEW_PASSWORD }),
    )
    .await;
    assert!(
        reset["data"]["resetPassword"]["token"].is_string(),
        "{reset}"
    );

    // Afterwards a client without any device cookie signs in, from an
    // address it never used.
    let after = sign_in(&plain, &server, "192.0.2.77", None, VICTIM, NEW_PASSWORD).await;
    assert!(signed_in(&after), "{after}");
}
