//! A real SMTP server for tests: maildev (pinned in `.ci/tools/package.json`,
//! installed by `.ci/install-tools`), started per test on free ports and read
//! through its JSON API.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// A running maildev.
pub struct MailServer {
    pub smtp_port: u16,
    web_port: u16,
    child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn maildev_bin() -> std::path::PathBuf {
    let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".ci/tools/node_modules/.bin/maildev");
    assert!(
        bin.exists(),
        "maildev is missing: run .ci/install-tools (the README's test command does)"
    );
    bin
}

impl MailServer {
    /// Starts maildev and waits until it answers.
    pub async fn start() -> Self {
        let mut server = Self {
            smtp_port: free_port(),
            web_port: free_port(),
            child: None,
        };
        server.up().await;
        server
    }

    /// `smtp://127.0.0.1:<port>` for SMTP_URL.
    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.smtp_port)
    }

    /// Stops the SMTP server (an outage).
    pub fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same ports.
    pub async fn up(&mut self) {
        let child = Command::new(maildev_bin())
            .args([
                "--ip",
                "127.0.0.1",
                "--smtp",
                &self.smtp_port.to_string(),
                "--web",
                &self.web_port.to_string(),
            ])
            .arg("--silent")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("maildev starts (node must be installed)");
        self.child = Some(child);
        for _ in 0..100 {
            if self.try_emails().await.is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "maildev did not start on ports {} / {}",
            self.smtp_port, self.web_port
        );
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
