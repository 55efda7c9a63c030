//! The real binary as a child process: its connection string and the address
//! it chose itself (`LISTEN_ADDR=127.0.0.1:0`), read from its "listening" line.

use std::net::SocketAddr;
use std::time::Duration;

/// How long a spawned server may take to say where it listens.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a test waits for an expected log line.
pub const LOG_TIMEOUT: Duration = Duration::from_secs(30);

/// The address in a log's "listening" line (text or JSON format), if it is there yet.
pub fn listening_addr(log: &str) -> Option<SocketAddr> {
    address_after(log, "listening")
}

/// The `addr` field of the first log line holding `marker`, if it is there yet.
pub fn address_after(log: &str, marker: &str) -> Option<SocketAddr> {
    let line = log.lines().find(|line| line.contains(marker))?;
    let start = line
        .find("addr=")
        .map(|at| at + "addr=".len())
        .or_else(|| line.find("\"addr\":\"").map(|at| at + "\"addr\":\"".len()))?;
    let rest = &line[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == ',')
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Polls `read_log` until it shows the listening address, or panics after [`START_TIMEOUT`].
pub fn wait_for_listening(read_log: impl FnMut() -> String) -> SocketAddr {
    wait_for_address("listening", read_log)
}

/// Polls `read_log` until a line holding `marker` names its address, or
/// panics after [`START_TIMEOUT`].
pub fn wait_for_address(marker: &str, mut read_log: impl FnMut() -> String) -> SocketAddr {
    let deadline = std::time::Instant::now() + START_TIMEOUT;
    loop {
        let log = read_log();
        if let Some(addr) = address_after(&log, marker) {
            return addr;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server never said where it is {marker}:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_listening_line_names_the_address() {
    let text =
        "2026-11-23T10:00:00Z  INFO growth_diary::app: listening addr=127.0.0.1:4242 database=x";
    assert_eq!(
        listening_addr(text),
        Some("127.0.0.1:4242".parse().unwrap())
    );
    let json = r#"{"fields":{"message":"listening","addr":"127.0.0.1:4243","database":"x"}}"#;
    assert_eq!(
        listening_addr(json),
        Some("127.0.0.1:4243".parse().unwrap())
    );
    assert_eq!(listening_addr("starting"), None);
}

/// The real binary serving a test database, logging into a file of its own.
pub struct ServerProcess {
    child: std::process::Child,
    /// `http://127.0.0.1:<port>`
    pub base: String,
    log: std::path::PathBuf,
}

impl ServerProcess {
    /// Starts the binary on `db` with `env` on top of settings that keep the
    /// developer's environment out (no SMTP, no metrics, default logging),
    /// and returns once it says where it listens.
    pub fn start(db: &super::TestDb, env: &[(&str, &str)]) -> Self {
        let log =
            std::env::temp_dir().join(format!("growth-diary-process-{}.log", uuid::Uuid::now_v7()));
        let file = std::fs::File::create(&log).expect("create the server's log");
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_growth-diary"));
        command
            .env_remove("DATABASE_DIRECT_URL")
            .env_remove("DATABASE_POOLER")
            .envs(db.server_env())
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("NO_COLOR", "1")
            .env_remove("SMTP_URL")
            .env_remove("RUST_LOG")
            .env_remove("LOG_FORMAT")
            .env_remove("LOG_EMAIL_LINKS")
            .env_remove("LOG_SQL_BINDS")
            .env_remove("METRICS_TOKEN")
            .env_remove("METRICS_ADDR")
            .stdout(file.try_clone().expect("share the log file"))
            .stderr(file);
        for (key, value) in env {
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

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything it has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls until `seen` holds for the log, and returns it; panics naming
    /// `what` after [`LOG_TIMEOUT`].
    pub async fn wait_for_log(&self, what: &str, seen: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + LOG_TIMEOUT;
        loop {
            let log = self.log();
            if seen(&log) {
                return log;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the log never showed {what}:\n{log}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// POSTs a GraphQL request body, with an optional bearer token, and returns the JSON answer.
    pub async fn post_graphql(
        &self,
        token: Option<&str>,
        body: &serde_json::Value,
    ) -> serde_json::Value {
        let mut request = reqwest::Client::new().post(self.url("/graphql")).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
            .send()
            .await
            .expect("the server answers")
            .json()
            .await
            .expect("a JSON body")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
