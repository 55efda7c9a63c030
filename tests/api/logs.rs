//! Secrets stay out of the log: the real binary, with every statement traced
//! (`RUST_LOG=growth_diary::sql=trace`) and emails logged (no `SMTP_URL`),
//! writes no reset or verification token; at `RUST_LOG=trace`, through
//! sign-up, sign-in, a WebSocket and a reset by SMTP, it writes no password,
//! session token, device cookie or email token.

use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::TestDb;
use crate::harness::mail::{MailServer, token_from};
use crate::harness::process::ServerProcess;
use crate::harness::ws::WsClient;

/// The binary with the SQL trace on, and `extra_env`.
fn start(db: &TestDb, extra_env: &[(&str, &str)]) -> ServerProcess {
    let mut env = vec![("RUST_LOG", "info,growth_diary::sql=trace")];
    env.extend_from_slice(extra_env);
    ServerProcess::start(db, &env)
}

/// POSTs an operation without credentials.
async fn gql(server: &ServerProcess, query: &str, variables: Value) -> Value {
    server
        .post_graphql(None, &json!({ "query": query, "variables": variables }))
        .await
}

/// Polls until the log holds `count` lines containing `marker`.
async fn wait_for_log(server: &ServerProcess, marker: &str, count: usize) -> String {
    server
        .wait_for_log(&format!("{count} × {marker:?}"), |log: &str| {
            log.matches(marker).count() >= count
        })
        .await
}

/// Signs up and asks for a reset, waits until both emails are logged, and
/// returns the log with the digests of the tokens the emails carried.
async fn run_and_capture(extra_env: &[(&str, &str)]) -> (String, Vec<Vec<u8>>) {
    let db = TestDb::new().await;
    let server = start(&db, extra_env);
    let signed_up = gql(&server,
            "mutation { signUp(input: { email: \"logged@example.com\", password: \"correct horse battery\" }) { token } }",
            json!({}),
        )
        .await;
    assert!(
        signed_up["data"]["signUp"]["token"].is_string(),
        "{signed_up}"
    );
    let asked = gql(
        &server,
        "mutation { requestPasswordReset(email: \"logged@example.com\") }",
        json!({}),
    )
    .await;
    assert_eq!(asked["data"]["requestPasswordReset"], true);
    let log = wait_for_log(
        &server,
        "email (no SMTP_URL set, so it is logged instead of sent)",
        2,
    )
    .await;
    let client = db.client().await;
    let mut digests = Vec::new();
    for table in ["password_resets", "verification_tokens"] {
        let rows = client
            .query(&format!("SELECT token_sha256 FROM {table}"), &[])
            .await
            .unwrap();
        digests.extend(rows.iter().map(|row| row.get::<_, Vec<u8>>(0)));
    }
    assert_eq!(
        digests.len(),
        2,
        "one reset and one verification token exist"
    );
    (log, digests)
}

/// How many words of `log` are tokens whose digest is in `digests`.
fn leaked_tokens(log: &str, digests: &[Vec<u8>]) -> usize {
    log.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .filter(|word| word.len() == 43)
        .filter(|word| digests.contains(&Sha256::digest(word.as_bytes()).to_vec()))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_never_reach_the_log() {
    // The development settings show what the defaults hide: this proves the
    // search below finds a token when one is there (in the traced outbox
    // insert's binds and in the logged email).
    let (log, digests) =
        run_and_capture(&[("LOG_EMAIL_LINKS", "true"), ("LOG_SQL_BINDS", "true")]).await;
    assert!(
        leaked_tokens(&log, &digests) >= 4,
        "with LOG_EMAIL_LINKS and LOG_SQL_BINDS both tokens are logged twice"
    );

    let (log, digests) = run_and_capture(&[]).await;
    assert!(
        log.contains("INSERT INTO \"email_outbox\"") || log.contains("INSERT INTO email_outbox"),
        "statements are still traced:\n{log}"
    );
    assert!(!log.contains("-- binds:"), "no bind values:\n{log}");
    assert!(
        log.contains("/reset-password?redacted"),
        "the logged email keeps its link, redacted"
    );
    assert_eq!(
        leaked_tokens(&log, &digests),
        0,
        "no token in the log:\n{log}"
    );
}

/// POSTs an operation without credentials and returns the body and the
/// device cookie (`name=value`) it set, if any.
async fn gql_with_cookie(
    server: &ServerProcess,
    query: &str,
    variables: Value,
) -> (Value, Option<String>) {
    let response = reqwest::Client::new()
        .post(server.url("/graphql"))
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("the server answers");
    let device = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .find(|pair| pair.starts_with("growth_diary_device="))
        .map(str::to_owned);
    (response.json().await.expect("a JSON body"), device)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_log_at_trace_level() {
    const EMAIL: &str = "traced@example.com";
    const PASSWORD: &str = "first-Secret-passphrase-41";
    const NEW_PASSWORD: &str = "second-Secret-passphrase-42";
    let mail = MailServer::start().await;
    let db = TestDb::new().await;
    let smtp_url = mail.smtp_url();
    let server = ServerProcess::start(&db, &[("RUST_LOG", "trace"), ("SMTP_URL", &smtp_url)]);
    let mut secrets: Vec<String> = vec![PASSWORD.into(), NEW_PASSWORD.into()];

    let (signed_up, _) = gql_with_cookie(
        &server,
        "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
        json!({ "i": { "email": EMAIL, "password": PASSWORD } }),
    )
    .await;
    let session = signed_up["data"]["signUp"]["token"]
        .as_str()
        .expect("signed up");
    secrets.push(session.into());
    let sign_in =
        "mutation($p: String!) { signIn(email: \"traced@example.com\", password: $p) { token } }";
    let (signed_in, device) = gql_with_cookie(&server, sign_in, json!({ "p": PASSWORD })).await;
    let session = signed_in["data"]["signIn"]["token"]
        .as_str()
        .expect("signed in")
        .to_owned();
    secrets.push(session.clone());
    let device = device.expect("sign-in sets a device cookie");
    secrets.push(device.split_once('=').expect("name=value").1.into());

    // A WebSocket whose connection_init carries the bearer token, and a subscription on it.
    let mut socket = WsClient::connect_url(&server.url("/graphql"), Some(&session)).await;
    socket
        .subscribe("1", "subscription { feedPostPublished { id } }", json!({}))
        .await;
    socket.send(json!({ "id": "1", "type": "complete" })).await;
    drop(socket);

    // A reset, its email sent through the SMTP server, completed.
    let asked = gql(
        &server,
        "mutation { requestPasswordReset(email: \"traced@example.com\") }",
        json!({}),
    )
    .await;
    assert_eq!(asked["data"]["requestPasswordReset"], true, "{asked}");
    let emails = mail.wait_for(EMAIL, 2, Duration::from_secs(15)).await;
    let with_link = |page: &str| {
        emails
            .iter()
            .find(|email| {
                email["text"]
                    .as_str()
                    .unwrap_or("")
                    .contains(&format!("/{page}?token="))
            })
            .map(|email| token_from(email, page))
            .unwrap_or_else(|| panic!("no {page} email"))
    };
    let reset_token = with_link("reset-password");
    secrets.push(with_link("verify-email"));
    secrets.push(reset_token.clone());
    let (reset, _) = gql_with_cookie(
        &server,
        "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) { token } }",
        json!({ "t": reset_token, "p": NEW_PASSWORD }),
    )
    .await;
    secrets.push(
        reset["data"]["resetPassword"]["token"]
            .as_str()
            .expect("reset")
            .into(),
    );
    let (again, _) = gql_with_cookie(&server, sign_in, json!({ "p": NEW_PASSWORD })).await;
    secrets.push(
        again["data"]["signIn"]["token"]
            .as_str()
            .expect("signed in again")
            .into(),
    );

    let log = server
        .wait_for_log("both emails sent", |log| {
            log.matches("email sent").count() >= 2
        })
        .await;
    assert!(log.contains("TRACE"), "the trace level is on:\n{log}");
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "{secret:?} is in the log:\n{log}"
        );
    }
    assert!(!log.contains("Bearer"), "no authorization value in the log");
}
