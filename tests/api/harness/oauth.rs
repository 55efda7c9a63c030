//! A real OpenID Connect provider for tests: oauth2-mock-server (pinned in
//! `.ci/tools/package.json`, installed by `.ci/install-tools`), one process
//! per test, with the claims the test chooses; and a browser that walks the
//! sign-in flow through it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use growth_diary::config::ServeConfig;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};

use super::TestServer;

/// The provider's name on the server (`/auth/mock/login`).
pub const PROVIDER: &str = "mock";

/// A running provider.
pub struct OAuthProvider {
    pub issuer: String,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl OAuthProvider {
    /// Starts a provider whose tokens carry `claims`.
    pub fn start(claims: Value) -> Self {
        let tools = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/tools");
        assert!(
            tools.join("node_modules/oauth2-mock-server").exists(),
            "oauth2-mock-server is missing: run .ci/install-tools (the README's test command does)"
        );
        let mut child = Command::new("node")
            .current_dir(&tools)
            // Port 0: the provider binds a free port itself and names it in its issuer.
            .args(["oauth-provider.mjs", "0", &claims.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs the OAuth provider");
        let stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let line = read_line(&mut stdout);
        let issuer = line
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("unexpected provider output: {line}"))
            .to_string();
        Self {
            issuer,
            child,
            stdin,
            stdout,
        }
    }

    /// Replaces the claims of the tokens signed from now on (someone else signs in).
    pub fn set_claims(&mut self, claims: Value) {
        writeln!(self.stdin, "{claims}").expect("the provider reads its stdin");
        self.stdin.flush().expect("the provider reads its stdin");
        assert_eq!(read_line(&mut self.stdout), "claims set");
    }
}

fn read_line(stdout: &mut BufReader<ChildStdout>) -> String {
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .expect("the provider answers on stdout");
    line.trim().to_string()
}

impl Drop for OAuthProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Settings that enable the provider at `issuer` as [`PROVIDER`] (client id
/// `growth-diary`); with `key`, provider tokens are stored encrypted.
pub fn use_provider(config: &mut ServeConfig, issuer: &str, key: Option<&'static str>) {
    config.oauth.oauth_oidc_issuer = Some(issuer.parse().unwrap());
    config.oauth.oauth_oidc_client_id = Some("growth-diary".into());
    config.oauth.oauth_oidc_client_secret = Some("test-secret".into());
    config.oauth.oauth_oidc_name = PROVIDER.into();
    config.oauth.encryption_key =
        key.map(|k| growth_diary::config::EncryptionKey(k.as_bytes().try_into().unwrap()));
}

/// A browser: keeps cookies, follows no redirect by itself.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The `Location` of a response ("" when it has none).
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Starts a sign-in and lets the provider answer; returns the callback URL it sends the browser to.
pub async fn authorize(
    server: &TestServer,
    browser: &reqwest::Client,
    redirect_to: Option<&str>,
) -> String {
    let mut login = server.url(&format!("/auth/{PROVIDER}/login"));
    if let Some(target) = redirect_to {
        login = format!(
            "{login}?redirect_to={}",
            url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>()
        );
    }
    let started = browser.get(login).send().await.unwrap();
    assert_eq!(started.status(), StatusCode::FOUND);
    let to_provider = location(&started);
    assert!(
        to_provider.contains("code_challenge_method=S256")
            && to_provider.contains("nonce=")
            && to_provider.contains("state="),
        "{to_provider}"
    );
    let answered = browser.get(&to_provider).send().await.unwrap();
    assert_eq!(
        answered.status(),
        StatusCode::FOUND,
        "the provider redirects back"
    );
    location(&answered)
}

/// The whole flow; returns the final response of the callback.
pub async fn sign_in(
    server: &TestServer,
    browser: &reqwest::Client,
    redirect_to: Option<&str>,
) -> reqwest::Response {
    let callback = authorize(server, browser, redirect_to).await;
    browser.get(callback).send().await.unwrap()
}

/// The browser's viewer: id, email, verified and linked accounts (null when anonymous).
pub async fn me(server: &TestServer, browser: &reqwest::Client) -> Value {
    let body: Value = browser
        .post(server.url("/graphql"))
        .json(&json!({ "query": "{ me { id email verified linkedAccounts { provider providerAccountId } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["data"]["me"].clone()
}
