//! A real OpenID Connect provider for tests: oauth2-mock-server (pinned in
//! `.ci/tools/package.json`, installed by `.ci/install-tools`), one process
//! per test, with the claims the test chooses.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// A running provider.
pub struct OAuthProvider {
    pub issuer: String,
    child: Child,
}

impl OAuthProvider {
    /// Starts a provider whose tokens carry `claims`.
    pub fn start(claims: Value) -> Self {
        let tools = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/tools");
        assert!(
            tools.join("node_modules/oauth2-mock-server").exists(),
            "oauth2-mock-server is missing: run .ci/install-tools (the README's test command does)"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("node")
            .current_dir(&tools)
            .args(["oauth-provider.mjs", &port.to_string(), &claims.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs the OAuth provider");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the provider prints its issuer");
        let issuer = line
            .trim()
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("unexpected provider output: {line}"))
            .to_string();
        Self { issuer, child }
    }
}

impl Drop for OAuthProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
