//! A real SMTP server for tests: maildev (pinned in `.ci/tools/package.json`,
//! installed by `.ci/install-tools`), started per test through
//! `.ci/tools/mail-server.mjs`, which binds its own ports and reports them, and
//! read through its JSON API.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// How long maildev may take to listen (node starts slowly on a loaded machine).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running maildev.
pub struct MailServer {
    pub smtp_port: u16,
    web_port: u16,
    child: Option<Child>,
}

fn tools_dir() -> std::path::PathBuf {
    let tools = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/tools");
    assert!(
        tools.join("node_modules/maildev").exists(),
        "maildev is missing: run .ci/install-tools (the README's test command does)"
    );
    tools
}

impl MailServer {
    /// Starts maildev on ports of its choosing and waits until it listens.
    pub async fn start() -> Self {
        let mut server = Self {
            smtp_port: 0,
            web_port: 0,
            child: None,
        };
        server.up().await;
        server
    }

    /// `smtp://127.0.0.1:<port>` for SMTP_URL.
    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.smtp_port)
    }

    /// `http://127.0.0.1:<port>`: maildev's web API (`GET /email` lists what arrived).
    pub fn web_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.web_port)
    }

    /// Stops the SMTP server (an outage).
    pub fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it (again, on the same ports after an outage).
    pub async fn up(&mut self) {
        let mut child = Command::new("node")
            .current_dir(tools_dir())
            .arg("mail-server.mjs")
            .arg(self.smtp_port.to_string())
            .arg(self.web_port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs maildev");
        let stdout = child.stdout.take().expect("piped stdout");
        let read = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        });
        let Ok(read) = tokio::time::timeout(START_TIMEOUT, read).await else {
            let _ = child.kill();
            panic!("maildev did not listen within {START_TIMEOUT:?}");
        };
        let line = read
            .expect("the reader thread ends")
            .expect("maildev reports its ports");
        let ports: Vec<u16> = line
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("maildev did not start: {line:?}"))
            .split_whitespace()
            .map(|port| port.parse().expect("a port number"))
            .collect();
        (self.smtp_port, self.web_port) = (ports[0], ports[1]);
        self.child = Some(child);
    }

    async fn try_emails(&self) -> Option<Vec<Value>> {
        let url = format!("http://127.0.0.1:{}/email", self.web_port);
        reqwest::get(url).await.ok()?.json().await.ok()
    }

    /// Every email received so far.
    pub async fn emails(&self) -> Vec<Value> {
        self.try_emails().await.expect("maildev answers")
    }

    /// The emails sent to `to`, waiting up to `timeout` for at least `count`.
    pub async fn wait_for(&self, to: &str, count: usize, timeout: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let received: Vec<Value> = self
                .emails()
                .await
                .into_iter()
                .filter(|email| {
                    email["to"]
                        .as_array()
                        .is_some_and(|to_list| to_list.iter().any(|a| a["address"] == to))
                })
                .collect();
            if received.len() >= count || tokio::time::Instant::now() >= deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        self.down();
    }
}

/// The token of the first `{...}/<page>?token=` link in an email's text.
pub fn token_from(email: &Value, page: &str) -> String {
    let text = email["text"].as_str().expect("a plain-text part");
    let marker = format!("/{page}?token=");
    let start = text
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker} link in {text}"))
        + marker.len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}
