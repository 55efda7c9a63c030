//! The real server, spawned on 127.0.0.1 port 0, and a GraphQL client for it.

use clap::Parser;
use growth_diary::app::{self, AppState};
use growth_diary::cli::Cli;
use growth_diary::config::ServeConfig;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::TestDb;

/// A running server with its own database.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    /// Its database (dropped after the server stops).
    pub db: TestDb,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
}

/// The server's settings for a test database, everything else at its default.
pub fn config_for(db: &TestDb) -> ServeConfig {
    let mut config = Cli::try_parse_from(["growth-diary"])
        .expect("defaults parse")
        .serve;
    config.database = db.config();
    config
}

impl TestServer {
    /// A server on a fresh database, with default settings.
    pub async fn start() -> Self {
        Self::start_with(TestDb::new().await, |_| {}).await
    }

    /// A server on `db`, with settings adjusted by `tweak`.
    pub async fn start_with(db: TestDb, tweak: impl FnOnce(&mut ServeConfig)) -> Self {
        let mut config = config_for(&db);
        tweak(&mut config);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        config.public_url = base.parse().expect("a valid URL");
        let state = AppState::build(config).await.expect("the server starts");
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = rx.await;
            };
            if let Err(err) = app::serve(listener, state.router(), shutdown).await {
                eprintln!("test server failed: {err}");
            }
        });
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("an HTTP client");
        Self {
            base,
            db,
            client,
            shutdown: Some(tx),
        }
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs a GraphQL request and returns the JSON body (any status).
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_as(None, query, variables).await
    }

    /// POSTs a GraphQL request with an optional bearer token.
    pub async fn gql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the server answers");
        response.json().await.expect("a JSON body")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The `extensions.code` of the first error, if any.
pub fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}
