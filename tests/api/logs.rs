//! Secrets stay out of the log: the real binary, with every statement traced
//! (`RUST_LOG=growth_diary::sql=trace`) and emails logged (no `SMTP_URL`),
//! writes no reset or verification token.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::TestDb;
use crate::harness::process::wait_for_listening;

/// The binary, serving a test database, logging into a file.
struct LoggingServer {
    child: Child,
    base: String,
    log: PathBuf,
}

impl LoggingServer {
    fn start(db: &TestDb, extra_env: &[(&str, &str)]) -> Self {
        let log =
            std::env::temp_dir().join(format!("growth-diary-log-{}.log", uuid::Uuid::now_v7()));
        let file = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_growth-diary"));
        command
            .env("DATABASE_URL", db.connection_string())
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "info,growth_diary::sql=trace")
            .env("NO_COLOR", "1")
            .env_remove("SMTP_URL")
            .env_remove("LOG_EMAIL_LINKS")
            .env_remove("LOG_SQL_BINDS")
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let child = command.spawn().expect("the binary runs");
        let addr = wait_for_listening(|| std::fs::read_to_string(&log).unwrap_or_default());
        Self {
            child,
            base: format!("http://{addr}"),
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls until the log holds `count` lines containing `marker`.
    async fn wait_for_log(&self, marker: &str, count: usize) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let log = self.log();
            if log.matches(marker).count() >= count {
                return log;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the log never showed {count} × {marker:?}:\n{log}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn gql(&self, query: &str, variables: Value) -> Value {
        reqwest::Client::new()
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for LoggingServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Signs up and asks for a reset, waits until both emails are logged, and
/// returns the log with the digests of the tokens the emails carried.
async fn run_and_capture(extra_env: &[(&str, &str)]) -> (String, Vec<Vec<u8>>) {
    let db = TestDb::new().await;
    let server = LoggingServer::start(&db, extra_env);
    let signed_up = server
        .gql(
            "mutation { signUp(input: { email: \"logged@example.com\", password: \"correct horse battery\" }) { token } }",
            json!({}),
        )
        .await;
    assert!(
        signed_up["data"]["signUp"]["token"].is_string(),
        "{signed_up}"
    );
    let asked = server
        .gql(
            "mutation { requestPasswordReset(email: \"logged@example.com\") }",
            json!({}),
        )
        .await;
    assert_eq!(asked["data"]["requestPasswordReset"], true);
    let log = server
        .wait_for_log(
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
