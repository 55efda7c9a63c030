//! Password guessing stops without locking the owner out: limits per client
//! IP (IPv6 per /64), per (email, network) (IPv6 per /48) and a ceiling per
//! email, and the client IP read from the last `X-Forwarded-For` hop behind
//! a trusted proxy. (Device cookies: `lockout.rs`.)

use serde_json::{Value, json};

use crate::harness::server::{error_code, sign_up};
use crate::harness::{TestDb, TestServer};

const VICTIM: &str = "victim@example.com";
const PASSWORD: &str = "correct horse battery";

/// A server behind a (pretend) proxy of our own: X-Forwarded-For names the client.
async fn behind_proxy() -> TestServer {
    TestServer::start_with(TestDb::new().await, |config| config.trust_proxy = true).await
}

/// `signIn` sent through the proxy, which appended `forwarded_for`.
async fn sign_in_from(
    server: &TestServer,
    forwarded_for: &str,
    email: &str,
    password: &str,
) -> Value {
    reqwest::Client::new()
        .post(server.url("/graphql"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({
            "query": "mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }",
            "variables": { "e": email, "p": password }
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The distinct client IPs audited for `kind`, sorted.
async fn audited_ips(server: &TestServer, kind: &str) -> Vec<String> {
    let mut ips: Vec<String> = server
        .db
        .client()
        .await
        .query(
            "SELECT DISTINCT host(ip) FROM audit_events WHERE kind = $1",
            &[&kind],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    ips.sort();
    ips
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_signs_in_while_a_stranger_guesses_from_one_ipv6_network() {
    let server = behind_proxy().await;
    sign_up(&server, VICTIM, PASSWORD).await;

    // Ten guesses from ten addresses of one /64 (written as proxies write
    // them, some with brackets and ports): they count as one client.
    for i in 1..=10 {
        let hop = match i % 3 {
            0 => format!("2001:db8:1:2::{i:x}"),
            1 => format!("[2001:db8:1:2::{i:x}]:443"),
            _ => format!("[2001:db8:1:2:ffff::{i:x}]"),
        };
        let guess =
            sign_in_from(&server, &format!("6.6.6.6, {hop}"), VICTIM, "a wrong guess").await;
        assert_eq!(
            error_code(&guess),
            Some("UNAUTHENTICATED"),
            "guess {i}: {guess}"
        );
    }
    let eleventh = sign_in_from(&server, "2001:db8:1:2:abcd::1", VICTIM, PASSWORD).await;
    assert_eq!(
        error_code(&eleventh),
        Some("RATE_LIMITED"),
        "the /64 has used its guesses on this email, even with the right password: {eleventh}"
    );
    let retry_after = eleventh["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap();
    assert!(retry_after > 0 && retry_after <= 15 * 60);

    // Another /64 of the same /48 (a subscriber's /56 or /60 holds many):
    // the network's share of this email's guesses is spent there too.
    let next_64 = sign_in_from(&server, "2001:db8:1:3::1", VICTIM, "a wrong guess").await;
    assert_eq!(error_code(&next_64), Some("RATE_LIMITED"), "{next_64}");
    let other_48 = sign_in_from(&server, "2001:db8:2::1", VICTIM, "a wrong guess").await;
    assert_eq!(error_code(&other_48), Some("UNAUTHENTICATED"), "{other_48}");

    // The owner, from their own address, is not locked out.
    let owner = sign_in_from(&server, "198.51.100.7:51234", VICTIM, PASSWORD).await;
    assert!(owner["data"]["signIn"]["token"].is_string(), "{owner}");

    // An unreadable last hop counts as the socket's address, never as the
    // earlier hop (which would be the limited /64 here).
    let fallback = sign_in_from(
        &server,
        "2001:db8:1:2::1, not-an-ip",
        VICTIM,
        "another guess",
    )
    .await;
    assert_eq!(error_code(&fallback), Some("UNAUTHENTICATED"), "{fallback}");

    assert_eq!(
        audited_ips(&server, "sign_in_failed").await,
        vec![
            "127.0.0.1".to_string(),
            "2001:db8:1:2::1".to_string(),
            "2001:db8:1:2::3".to_string(),
            "2001:db8:1:2::4".to_string(),
            "2001:db8:1:2::6".to_string(),
            "2001:db8:1:2::7".to_string(),
            "2001:db8:1:2::9".to_string(),
            "2001:db8:1:2::a".to_string(),
            "2001:db8:1:2:ffff::2".to_string(),
            "2001:db8:1:2:ffff::5".to_string(),
            "2001:db8:1:2:ffff::8".to_string(),
            "2001:db8:2::1".to_string(),
        ],
        "the last hop, port and brackets stripped"
    );
    assert_eq!(audited_ips(&server, "sign_in").await, vec!["198.51.100.7"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guesser_spread_over_many_addresses_still_meets_the_email_ceiling() {
    let server = behind_proxy().await;
    sign_up(&server, VICTIM, PASSWORD).await;
    // 100 failures from 10 addresses (10 each, the most one address may add)
    // would take minutes of argon2 in a debug build: count them in directly.
    server
        .db
        .client()
        .await
        .execute(
            "INSERT INTO rate_limit_buckets (key, window_start, count) VALUES ('sign_in_email:' || $1::text, now(), 100)",
            &[&VICTIM],
        )
        .await
        .unwrap();
    let fresh_address = sign_in_from(&server, "203.0.113.99", VICTIM, "guess 101").await;
    assert_eq!(
        error_code(&fresh_address),
        Some("RATE_LIMITED"),
        "{fresh_address}"
    );
    let other_email = sign_in_from(&server, "203.0.113.99", "someone@example.com", "a guess").await;
    assert_eq!(
        error_code(&other_email),
        Some("UNAUTHENTICATED"),
        "the ceiling is the email's, not the address's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_meets_its_own_limit_across_emails() {
    let server = behind_proxy().await;
    // 50 failures from one address over many emails, counted in directly (as above).
    server
        .db
        .client()
        .await
        .execute(
            "INSERT INTO rate_limit_buckets (key, window_start, count) VALUES ('sign_in_ip:2001:db8:7:7::/64', now(), 50)",
            &[],
        )
        .await
        .unwrap();
    let same_network = sign_in_from(
        &server,
        "2001:db8:7:7:1:2:3:4",
        "anyone@example.com",
        "a guess",
    )
    .await;
    assert_eq!(
        error_code(&same_network),
        Some("RATE_LIMITED"),
        "{same_network}"
    );
    let next_network =
        sign_in_from(&server, "2001:db8:7:8::1", "anyone@example.com", "a guess").await;
    assert_eq!(
        error_code(&next_network),
        Some("UNAUTHENTICATED"),
        "{next_network}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_that_do_not_validate_are_answered_but_never_counted() {
    let server = behind_proxy().await;
    for i in 0..60 {
        let email = format!("not an email {i}");
        let body = sign_in_from(&server, "203.0.113.5", &email, "a guess").await;
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");
        assert_eq!(body["errors"][0]["message"], "invalid email or password");
    }
    let buckets: i64 = server
        .db
        .client()
        .await
        .query_one("SELECT count(*) FROM rate_limit_buckets", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(buckets, 0, "no counter was made for them");
}
