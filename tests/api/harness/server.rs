//! The real server, spawned on 127.0.0.1 port 0, and a GraphQL client for it.

use std::sync::Arc;

use clap::{CommandFactory, FromArgMatches};
use growth_diary::app;
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
    /// Its database (dropped after the last server on it stops).
    pub db: Arc<TestDb>,
    /// A browser-like client that keeps cookies.
    pub client: reqwest::Client,
    /// A client without cookies: only a bearer token authenticates it.
    plain: reqwest::Client,
    /// The server's services (its pool, its statement counter).
    pub services: growth_diary::services::Services,
    /// Its WebSocket state (open sockets, the event hub).
    pub ws: growth_diary::http::ws::WsState,
    shutdown: Option<oneshot::Sender<()>>,
}

/// The server's settings for a test database, everything else at its
/// default: only the test's own values, never the developer's environment
/// (an exported `SMTP_URL` or `STORY_DAILY_LIMIT` must not change a test).
pub fn config_for(db: &TestDb) -> ServeConfig {
    let command = Cli::command().mut_args(|arg| arg.env(None::<&'static str>));
    let matches = command
        .try_get_matches_from(["growth-diary"])
        .expect("the defaults parse");
    let mut config = Cli::from_arg_matches(&matches)
        .expect("the defaults parse")
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
    pub async fn start_with(
        db: impl Into<Arc<TestDb>>,
        tweak: impl FnOnce(&mut ServeConfig),
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        Self::start_on(listener, db, tweak).await
    }

    /// A server on `listener`, bound beforehand by a test that must know the
    /// server's address before it starts (to build a web app against it).
    pub async fn start_on(
        listener: TcpListener,
        db: impl Into<Arc<TestDb>>,
        tweak: impl FnOnce(&mut ServeConfig),
    ) -> Self {
        let db = db.into();
        let mut config = config_for(&db);
        tweak(&mut config);
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        config.public_url = base.parse().expect("a valid URL");
        let state = app::build(config).await.expect("the server starts");
        let services = state.services.clone();
        let ws = state.ws.clone();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = rx.await;
            };
            app::serve(listener, state, shutdown).await;
        });
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("an HTTP client");
        Self {
            base,
            db,
            client,
            plain: reqwest::Client::new(),
            services,
            ws,
            shutdown: Some(tx),
        }
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs a GraphQL request without credentials and returns the JSON body (any status).
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_as(None, query, variables).await
    }

    /// POSTs a GraphQL request with an optional bearer token (and no cookie).
    pub async fn gql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        Self::send(&self.plain, &self.url("/graphql"), token, query, variables).await
    }

    /// POSTs a GraphQL request from the cookie-keeping client.
    pub async fn gql_with_cookies(&self, query: &str, variables: Value) -> Value {
        Self::send(&self.client, &self.url("/graphql"), None, query, variables).await
    }

    async fn send(
        client: &reqwest::Client,
        url: &str,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        let mut request = client
            .post(url)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the server answers");
        response.json().await.expect("a JSON body")
    }
}

impl TestServer {
    /// Stops the server as SIGTERM would: no new connections, requests in
    /// flight finish, WebSockets are closed.
    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `extensions.code` of the first error, if any.
pub fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// A user signed up through the API, who sends requests with its own bearer token.
pub struct TestUser<'s> {
    server: &'s TestServer,
    /// Its session token.
    pub token: String,
}

impl TestUser<'_> {
    /// POSTs a GraphQL request as this user and returns the JSON body.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.server
            .gql_as(Some(&self.token), query, variables)
            .await
    }

    /// The user's id.
    pub async fn id(&self) -> String {
        me(self.server, &self.token)
            .await
            .expect("a signed-up user's token is signed in")
    }

    /// Creates a post (`status` PUBLISHED or DRAFT) and returns its id.
    pub async fn post(&self, title: &str, status: &str) -> String {
        let body = self
            .gql(
                "mutation($i: CreatePostInput!) { createPost(input: $i) { id } }",
                json!({ "i": { "title": title, "content": "Today I learned", "status": status } }),
            )
            .await;
        body["data"]["createPost"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("createPost failed: {body}"))
            .to_string()
    }
}

/// The password every [`TestServer::sign_up`] user has.
pub const TEST_PASSWORD: &str = "correct horse battery";

impl TestServer {
    /// Signs `email` up through the API (password [`TEST_PASSWORD`]).
    pub async fn sign_up(&self, email: &str) -> TestUser<'_> {
        TestUser {
            server: self,
            token: sign_up(self, email, TEST_PASSWORD).await,
        }
    }
}

/// Signs up through the API and returns the session token.
pub async fn sign_up(server: &TestServer, email: &str, password: &str) -> String {
    let body = server
        .gql(
            "mutation($input: SignUpInput!) { signUp(input: $input) { token user { id } } }",
            json!({ "input": { "email": email, "password": password, "name": "Ada" } }),
        )
        .await;
    body["data"]["signUp"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("sign-up failed: {body}"))
        .to_string()
}

/// The id of the viewer a token belongs to, or None when it is anonymous.
pub async fn me(server: &TestServer, token: &str) -> Option<String> {
    let body = server.gql_as(Some(token), "{ me { id } }", json!({})).await;
    body["data"]["me"]["id"].as_str().map(str::to_owned)
}
