//! Secrets stay out of the log: the real binary, with every statement traced
//! (`RUST_LOG=growth_diary::sql=trace`) and emails logged (no `SMTP_URL`),
//! writes no reset or verification token.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::TestDb;
use crate::harness::process::ServerProcess;

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
