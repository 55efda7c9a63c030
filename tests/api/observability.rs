//! Running it for real: request ids (echoed, made, in error extensions and in
//! every log line of a request), a retryable 503 while the database cannot
//! be reached, and Prometheus metrics after known traffic.
//!
//! The metrics recorder is one per process, and the other tests' in-process
//! servers share this process: exact counts are checked on the real binary,
//! started as a process of its own.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message;

use crate::harness::process::{ServerProcess, wait_for_address};
use crate::harness::server::sign_up;
use crate::harness::{TestDb, TestServer};

/// How long a test waits for something that should happen soon.
const DEADLINE: Duration = Duration::from_secs(30);
const TOKEN: &str = "metrics-token-for-the-tests-0123456789";
const FEED: &str = "query Feed { feed(first: 1) { edges { node { id title } } } }";
const CREATE_POST: &str =
    "mutation CreatePost($input: CreatePostInput!) { createPost(input: $input) { id } }";

// ---------------------------------------------------------------- request ids

async fn post_with_id(server: &TestServer, id: Option<&str>, body: &Value) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(server.url("/graphql"))
        .json(body);
    if let Some(id) = id {
        request = request.header("x-request-id", id);
    }
    request.send().await.expect("the server answers")
}

fn response_id(response: &reqwest::Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .expect("an ASCII id")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_echoed_or_made_and_reach_every_error() {
    let server = TestServer::start().await;
    let bad_query = json!({ "query": "{ post(id: \"not-an-id\") { id } nope }" });

    // A usable client id comes back, in the header and in every error.
    let response = post_with_id(&server, Some("client-42.retry_1"), &bad_query).await;
    assert_eq!(response_id(&response), "client-42.retry_1");
    let body: Value = response.json().await.unwrap();
    let errors = body["errors"].as_array().expect("errors");
    assert!(!errors.is_empty(), "{body}");
    for error in errors {
        assert_eq!(
            error["extensions"]["requestId"], "client-42.retry_1",
            "{body}"
        );
    }

    // No id, or one that is too long or not printable: a fresh UUID v7.
    let too_long = "x".repeat(65);
    for sent in [
        None,
        Some(too_long.as_str()),
        Some("has spaces; and {braces}"),
    ] {
        let response = post_with_id(&server, sent, &bad_query).await;
        let id = response_id(&response);
        let uuid = uuid::Uuid::parse_str(&id).unwrap_or_else(|_| panic!("a UUID, got {id:?}"));
        assert_eq!(uuid.get_version_num(), 7);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["requestId"], id.as_str());
    }

    // Two requests never share a made id.
    let a = response_id(&post_with_id(&server, None, &bad_query).await);
    let b = response_id(&post_with_id(&server, None, &bad_query).await);
    assert_ne!(a, b);

    // Errors raised before execution carry it too: a refused content type,
    // a body that is not JSON, a mutation sent by GET.
    let refused = reqwest::Client::new()
        .post(server.url("/graphql"))
        .header("content-type", "text/plain")
        .header("x-request-id", "refused-1")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(response_id(&refused), "refused-1");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["requestId"], "refused-1");

    let not_json = reqwest::Client::new()
        .post(server.url("/graphql"))
        .header("content-type", "application/json")
        .header("x-request-id", "not-json-1")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    let body: Value = not_json.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["requestId"], "not-json-1");

    let by_get = reqwest::Client::new()
        .get(server.url("/graphql?query=mutation%20%7B%20signOut%20%7D"))
        .header("x-request-id", "get-1")
        .send()
        .await
        .unwrap();
    assert_eq!(by_get.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = by_get.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["requestId"], "get-1");

    // Browsers on an allowed origin may send one and read it back.
    let preflight = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, server.url("/graphql"))
        .header("origin", &server.base)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, x-request-id",
        )
        .send()
        .await
        .unwrap();
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("x-request-id"), "{allowed}");
    let cross_origin = reqwest::Client::new()
        .post(server.url("/graphql"))
        .header("origin", &server.base)
        .json(&bad_query)
        .send()
        .await
        .unwrap();
    assert_eq!(
        cross_origin.headers()["access-control-expose-headers"],
        "x-request-id"
    );

    // Every route answers with one, not only GraphQL.
    let health = reqwest::get(server.url("/healthz")).await.unwrap();
    assert!(health.headers().contains_key("x-request-id"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_log_line_of_a_request_carries_its_id() {
    let db = TestDb::new().await;
    for format in ["json", "text"] {
        let server = ServerProcess::start(
            &db,
            &[
                ("LOG_FORMAT", format),
                ("RUST_LOG", "info,growth_diary::sql=trace"),
            ],
        );
        let token = server.sign_up(&format!("log-{format}@example.com")).await;
        let post = json!({ "input": { "title": "Logged", "content": "c", "status": "PUBLISHED" } });
        let created = server
            .gql(Some(&token), CREATE_POST, "CreatePost", post)
            .await;
        assert!(created["errors"].is_null(), "{created}");
        let id = format!("log-line-check-{format}");
        // The feed with authors: the authors come from a DataLoader batch,
        // which runs in a task of its own.
        let response = reqwest::Client::new()
            .post(server.url("/graphql"))
            .bearer_auth(&token)
            .header("x-request-id", &id)
            .json(
                &json!({ "query": "{ feed(first: 5) { edges { node { id author { name } } } } }" }),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let log = server
            .wait_for_log_line("finished processing request", &id)
            .await;
        let lines: Vec<&str> = log.lines().filter(|line| line.contains(&id)).collect();
        // What each line says (a JSON line's message, unescaped).
        let said: Vec<String> = lines
            .iter()
            .map(|line| match serde_json::from_str::<Value>(line) {
                Ok(entry) => entry["message"].as_str().unwrap_or_default().to_owned(),
                Err(_) => (*line).to_owned(),
            })
            .collect();
        let with = |needle: &str| said.iter().any(|line| line.contains(needle));
        // The session lookup, the page, the loader's users query, the response line.
        assert!(
            with("FROM \"sessions\""),
            "{format}: no session SQL with the id:\n{log}"
        );
        assert!(
            with("FROM \"posts\""),
            "{format}: no posts SQL with the id:\n{log}"
        );
        assert!(
            with("FROM \"users\""),
            "{format}: no loader SQL with the id:\n{log}"
        );
        assert!(with("finished processing request"), "{format}:\n{log}");
        if format == "json" {
            for line in &lines {
                let entry: Value = serde_json::from_str(line).expect("a JSON log line");
                assert_eq!(entry["span"]["request_id"], id.as_str(), "{line}");
            }
        } else {
            for line in &lines {
                assert!(line.contains(&format!("request_id={id}")), "{line}");
            }
        }
    }
}

// ------------------------------------------------------ an unreachable database

/// Turns connections to `db` away and ends the open ones, as a restart does.
async fn cut_off(db: &TestDb, allowed: bool) {
    let admin = growth_diary::db::connect::client(
        &crate::harness::db::admin_url(),
        Duration::from_secs(10),
    )
    .await
    .expect("connect to the maintenance database");
    let name = growth_diary::db::connect::quote_identifier(db.url.database_name());
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS {allowed}"
        ))
        .await
        .expect("change ALLOW_CONNECTIONS");
    if allowed {
        return;
    }
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let left: i64 = admin
            .query_one(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = $1 AND pid <> pg_backend_pid()) ended",
                &[&db.url.database_name()],
            )
            .await
            .expect("terminate the backends")
            .get(0);
        if left == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "backends did not end"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_retryable(status: StatusCode, headers: &reqwest::header::HeaderMap, body: &Value) {
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(
        (1..=30).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "SERVICE_UNAVAILABLE", "{body}");
    assert_eq!(error["extensions"]["retryAfter"], retry_after, "{body}");
    assert!(error["extensions"]["requestId"].is_string(), "{body}");
    let mut keys: Vec<&str> = error["extensions"]
        .as_object()
        .expect("extensions")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "requestId", "retryAfter"], "{body}");
    let message = error["message"].as_str().expect("a message");
    for internal in [
        "127.0.0.1",
        "5432",
        "gd_test",
        "connection",
        "postgres",
        "database",
    ] {
        assert!(!message.contains(internal), "{internal:?} leaked: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_is_a_retryable_503_until_it_is_back() {
    let db = std::sync::Arc::new(TestDb::new().await);
    let server = TestServer::start_with(db.clone(), |config| {
        config.metrics.metrics_token = Some(TOKEN.into());
        config.oauth.oauth_github_client_id = Some("github-client".into());
        config.oauth.oauth_github_client_secret = Some("github-secret".into());
    })
    .await;
    let token = sign_up(&server, "retry@example.com", "correct horse battery").await;
    let feed = json!({ "query": FEED });
    let ok = post_with_id(&server, None, &feed).await;
    assert_eq!(ok.status(), StatusCode::OK);

    cut_off(&db, false).await;

    // An anonymous query: the pool cannot open a connection.
    let response = post_with_id(&server, None, &feed).await;
    let (status, headers) = (response.status(), response.headers().clone());
    assert_retryable(status, &headers, &response.json().await.unwrap());

    // A signed-in request fails at the session lookup, before execution.
    let response = reqwest::Client::new()
        .post(server.url("/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": CREATE_POST, "variables": { "input": { "title": "t", "content": "c" } } }))
        .send()
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    assert_retryable(status, &headers, &response.json().await.unwrap());

    // Also in application/graphql-response+json, and by GET.
    let response = reqwest::Client::new()
        .get(server.url("/graphql?query=%7B%20feed(first%3A%201)%20%7B%20edges%20%7B%20node%20%7B%20id%20%7D%20%7D%20%7D%20%7D"))
        .header("accept", "application/graphql-response+json")
        .send()
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    assert_retryable(status, &headers, &response.json().await.unwrap());

    // A query that needs no database still answers.
    let fine = post_with_id(&server, None, &json!({ "query": "{ __typename }" })).await;
    assert_eq!(fine.status(), StatusCode::OK);

    let ready = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);

    // The email-link pages and the OAuth sign-in answer the same way, in HTML.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let pages = [
        no_redirects
            .post(server.url("/verify-email"))
            .form(&[("token", "a-token-from-an-email-as-long-as-a-real-one")]),
        no_redirects.get(server.url("/auth/github/login?redirect_to=/")),
    ];
    for request in pages {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key("retry-after"));
        let html = response.text().await.unwrap();
        assert!(html.contains("try again in a few seconds"), "{html}");
    }

    // The scrape answers without the database, leaving the outbox out.
    let scrape = scrape(&server.url("/metrics"), Some(TOKEN)).await;
    assert!(
        scrape.value("growth_diary_database_unavailable_total", &[]) >= Some(5.0),
        "{}",
        scrape.text
    );
    assert!(
        scrape
            .value("growth_diary_db_pool_max_connections", &[])
            .is_some()
    );
    assert_eq!(scrape.value("growth_diary_email_outbox_depth", &[]), None);

    cut_off(&db, true).await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let response = post_with_id(&server, None, &feed).await;
        if response.status() == StatusCode::OK {
            let body: Value = response.json().await.unwrap();
            assert!(body["errors"].is_null(), "{body}");
            break;
        }
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server never recovered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert!(
        crate::harness::server::me(&server, &token).await.is_some(),
        "sessions survive the outage"
    );
}

/// A TCP proxy to PostgreSQL that a test can cut, as a network failure or a
/// failover does: while cut, its connections are closed and new ones are
/// accepted and dropped at once.
struct CuttableProxy {
    port: u16,
    cut: tokio::sync::watch::Sender<bool>,
}

impl CuttableProxy {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (cut, watch) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut watch = watch.clone();
                if *watch.borrow() {
                    continue;
                }
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:5432").await
                    else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = watch.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Self { port, cut }
    }

    fn set_cut(&self, cut: bool) {
        self.cut.send_replace(cut);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_cut_to_the_database_is_a_retryable_503() {
    let db = TestDb::new().await;
    let proxy = CuttableProxy::start().await;
    let proxied = growth_diary::config::DatabaseUrl::parse(&format!(
        "postgres://postgres@127.0.0.1:{}/{}",
        proxy.port,
        db.url.database_name()
    ))
    .unwrap();
    let server = TestServer::start_with(db, |config| {
        config.database.database_url = proxied;
    })
    .await;
    let feed = json!({ "query": FEED });
    assert_eq!(
        post_with_id(&server, None, &feed).await.status(),
        StatusCode::OK
    );

    // Pooled connections break under the requests, and new ones are dropped.
    proxy.set_cut(true);
    for _ in 0..3 {
        let response = post_with_id(&server, None, &feed).await;
        let (status, headers) = (response.status(), response.headers().clone());
        assert_retryable(status, &headers, &response.json().await.unwrap());
    }

    proxy.set_cut(false);
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let response = post_with_id(&server, None, &feed).await;
        if response.status() == StatusCode::OK {
            break;
        }
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server never recovered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ------------------------------------------------------------------ metrics

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_not_served_on_the_main_address_without_a_token() {
    let server = TestServer::start().await;
    let response = reqwest::get(server.url("/metrics")).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = reqwest::Client::new()
        .get(server.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_known_traffic() {
    let db = TestDb::new().await;
    let server = ServerProcess::start(
        &db,
        &[
            ("METRICS_TOKEN", TOKEN),
            ("METRICS_ADDR", "127.0.0.1:0"),
            ("POSTS_PER_HOUR", "1"),
            ("STORY_DAILY_LIMIT", "0"),
        ],
    );
    let metrics_url = server.url("/metrics");
    let metrics_addr = wait_for_address("serving metrics", || server.log());

    // The main address wants the token.
    let refused = reqwest::get(&metrics_url).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.headers().contains_key("www-authenticate"));
    let wrong = reqwest::Client::new()
        .get(&metrics_url)
        .bearer_auth("metrics-token-for-the-tests-0123456788")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    // Known traffic.
    for _ in 0..2 {
        let body = server.gql(None, FEED, "Feed", json!({})).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    // The same page through a fragment is resolved field by field.
    let body = server
        .gql(
            None,
            "query Feed { feed(first: 1) { ... on PostConnection { edges { node { id } } } } }",
            "Feed",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let token = server.sign_up("counted@example.com").await;
    let post = json!({ "input": { "title": "Counted", "content": "once" } });
    let first = server
        .gql(Some(&token), CREATE_POST, "CreatePost", post.clone())
        .await;
    assert!(first["errors"].is_null(), "{first}");
    let second = server
        .gql(Some(&token), CREATE_POST, "CreatePost", post.clone())
        .await;
    assert_eq!(
        second["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{second}"
    );
    let story = server
        .gql(
            Some(&token),
            "mutation Story { generateStory(period: \"2025-01\") { content } }",
            "Story",
            json!({}),
        )
        .await;
    assert_eq!(
        story["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{story}"
    );
    let anonymous = server
        .gql(
            None,
            "mutation Anon($input: CreatePostInput!) { createPost(input: $input) { id } }",
            "Anon",
            post,
        )
        .await;
    assert_eq!(
        anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{anonymous}"
    );
    let missing = reqwest::get(server.url("/no-such-page")).await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // A WebSocket with one subscription.
    let mut socket = open_socket(&server.base).await;
    socket
        .send(Message::text(
            json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { feedPostPublished { id } }" } })
                .to_string(),
        ))
        .await
        .unwrap();
    let scraped = wait_for_scrape(&metrics_url, |s| {
        s.value("growth_diary_subscriptions_active", &[]) == Some(1.0)
    })
    .await;

    let operations = "growth_diary_graphql_operations_total";
    let count = |name: &str, labels: &[(&str, &str)]| scraped.value(name, labels);
    assert_eq!(
        count(
            operations,
            &[("operation", "Feed"), ("type", "query"), ("outcome", "ok")]
        ),
        Some(3.0)
    );
    assert_eq!(
        count(
            operations,
            &[
                ("operation", "CreatePost"),
                ("type", "mutation"),
                ("outcome", "ok")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        count(
            operations,
            &[
                ("operation", "CreatePost"),
                ("type", "mutation"),
                ("outcome", "error")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        count(
            operations,
            &[
                ("operation", "Story"),
                ("type", "mutation"),
                ("outcome", "error")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        count(
            operations,
            &[
                ("operation", "Anon"),
                ("type", "mutation"),
                ("outcome", "error")
            ]
        ),
        Some(1.0)
    );
    let latency = "growth_diary_graphql_operation_duration_seconds";
    let feed = [("operation", "Feed"), ("type", "query")];
    assert_eq!(count(&format!("{latency}_count"), &feed), Some(3.0));
    assert_eq!(
        count(
            &format!("{latency}_bucket"),
            &[("operation", "Feed"), ("type", "query"), ("le", "+Inf")]
        ),
        Some(3.0)
    );
    let pages = "growth_diary_post_pages_total";
    assert_eq!(count(pages, &[("answer", "written")]), Some(2.0));
    assert_eq!(count(pages, &[("answer", "resolved")]), Some(1.0));
    assert!(count(&format!("{latency}_sum"), &feed).is_some_and(|sum| sum > 0.0));

    let errors = "growth_diary_graphql_errors_total";
    assert_eq!(count(errors, &[("code", "RATE_LIMITED")]), Some(2.0));
    assert_eq!(count(errors, &[("code", "UNAUTHENTICATED")]), Some(1.0));
    assert_eq!(
        count(
            "growth_diary_rate_limit_refusals_total",
            &[("rule", "posts_user")]
        ),
        Some(1.0)
    );
    assert_eq!(
        count("growth_diary_story_quota_refusals_total", &[]),
        Some(1.0)
    );
    assert_eq!(
        count("growth_diary_database_unavailable_total", &[]),
        Some(0.0)
    );

    let http = "growth_diary_http_requests_total";
    // Feed ×3, sign-up, two posts, the story, the anonymous post.
    assert_eq!(
        count(http, &[("route", "/graphql"), ("status", "200")]),
        Some(8.0)
    );
    assert_eq!(
        count(http, &[("route", "/graphql"), ("status", "101")]),
        Some(1.0)
    );
    assert_eq!(
        count(http, &[("route", "unmatched"), ("status", "404")]),
        Some(1.0)
    );
    assert_eq!(
        count(http, &[("route", "/metrics"), ("status", "401")]),
        Some(2.0)
    );
    assert!(
        !scraped.text.contains("no-such-page"),
        "raw URLs never become labels"
    );

    assert_eq!(count("growth_diary_websocket_connections", &[]), Some(1.0));
    assert_eq!(
        count("growth_diary_db_pool_max_connections", &[]),
        Some(10.0)
    );
    assert!(count("growth_diary_db_pool_connections", &[]) >= Some(1.0));
    assert!(count("growth_diary_db_pool_idle_connections", &[]).is_some());
    assert_eq!(count("growth_diary_db_pool_waiting", &[]), Some(0.0));
    assert!(count("growth_diary_db_statements_total", &[]) >= Some(1.0));
    assert!(count("growth_diary_email_outbox_depth", &[]).is_some());
    assert!(count("growth_diary_email_outbox_oldest_age_seconds", &[]) >= Some(0.0));
    assert_eq!(
        count(
            "growth_diary_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );
    for family in [
        operations,
        latency,
        errors,
        http,
        "growth_diary_db_pool_connections",
    ] {
        assert!(
            scraped.text.contains(&format!("# TYPE {family} ")),
            "{family} has a TYPE line:\n{}",
            scraped.text
        );
    }

    // Closing the socket gives both gauges back.
    socket.close(None).await.unwrap();
    wait_for_scrape(&metrics_url, |s| {
        s.value("growth_diary_websocket_connections", &[]) == Some(0.0)
            && s.value("growth_diary_subscriptions_active", &[]) == Some(0.0)
    })
    .await;

    // METRICS_ADDR serves the same without a token, and nothing else.
    let open = scrape(&format!("http://{metrics_addr}/metrics"), None).await;
    assert_eq!(
        count("growth_diary_story_quota_refusals_total", &[]),
        open.value("growth_diary_story_quota_refusals_total", &[])
    );
    let other = reqwest::get(format!("http://{metrics_addr}/graphql"))
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_labels_name_operations_that_ran() {
    let db = TestDb::new().await;
    let server = ServerProcess::start(&db, &[("METRICS_TOKEN", TOKEN)]);
    let metrics_url = server.url("/metrics");
    // More names than the set may learn, none of them an operation that
    // ran: a document that does not parse, an operationName the document
    // does not define, an operation that does not validate.
    for n in 0..=100 {
        let name = format!("attacker_label_{n:03}");
        let refused = match n % 3 {
            0 => json!({ "query": "x", "operationName": name }),
            1 => json!({ "query": "query Real { __typename }", "operationName": name }),
            _ => json!({ "query": format!("query {name} {{ noSuchField }}") }),
        };
        let body = server.post_graphql(None, &refused).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body}"
        );
    }
    let feed_page = "query FeedPage { feed(first: 1) { edges { cursor } } }";
    let body = server
        .post_graphql(
            None,
            &json!({ "query": feed_page, "operationName": "FeedPage" }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    // A named operation sent without operationName is labelled by its own name.
    let own_name = "query FeedForMetrics { feed(first: 1) { edges { cursor } } }";
    let body = server
        .post_graphql(None, &json!({ "query": own_name }))
        .await;
    assert!(body["errors"].is_null(), "{body}");

    let operations = "growth_diary_graphql_operations_total";
    let scraped = wait_for_scrape(&metrics_url, |s| {
        s.value(operations, &[("operation", "FeedForMetrics")]) == Some(1.0)
    })
    .await;
    assert!(
        !scraped.text.contains("attacker_label"),
        "refused requests teach no label:\n{}",
        scraped.text
    );
    let ok = |name: &str| {
        scraped.value(
            operations,
            &[("operation", name), ("type", "query"), ("outcome", "ok")],
        )
    };
    assert_eq!(ok("FeedPage"), Some(1.0), "{}", scraped.text);
    let other = |kind: &str| {
        scraped.value(
            operations,
            &[("operation", "other"), ("type", kind), ("outcome", "error")],
        )
    };
    // 68 select no operation; 33 select one that does not validate.
    assert_eq!(other("unknown"), Some(68.0), "{}", scraped.text);
    assert_eq!(other("query"), Some(33.0), "{}", scraped.text);
}

// ------------------------------------------------------------------ helpers

/// A parsed scrape: every sample with its labels.
struct Scrape {
    text: String,
    samples: Vec<(String, HashMap<String, String>, f64)>,
}

impl Scrape {
    /// The value of the sample named `name` whose labels include `labels`,
    /// when exactly one does.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut found = self.samples.iter().filter(|(sample, have, _)| {
            sample == name
                && labels
                    .iter()
                    .all(|(key, value)| have.get(*key).map(String::as_str) == Some(*value))
        });
        let first = found.next()?;
        assert!(
            found.next().is_none(),
            "{name} {labels:?} matches several samples"
        );
        Some(first.2)
    }
}

/// Parses the Prometheus text format (the subset an exporter writes).
fn parse(text: &str) -> Scrape {
    let mut samples = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .unwrap_or_else(|| panic!("a sample: {line}"));
        let name = line[..name_end].to_string();
        let mut labels = HashMap::new();
        let mut rest = &line[name_end..];
        if let Some(inner) = rest.strip_prefix('{') {
            let mut chars = inner.char_indices();
            let mut key = String::new();
            loop {
                let (at, c) = chars
                    .next()
                    .unwrap_or_else(|| panic!("unclosed labels: {line}"));
                match c {
                    '}' => {
                        rest = &inner[at + 1..];
                        break;
                    }
                    ',' => {}
                    '=' => {
                        assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
                        let mut value = String::new();
                        loop {
                            match chars.next().map(|(_, c)| c) {
                                Some('\\') => value.push(chars.next().expect("an escape").1),
                                Some('"') => break,
                                Some(c) => value.push(c),
                                None => panic!("unclosed value: {line}"),
                            }
                        }
                        labels.insert(std::mem::take(&mut key), value);
                    }
                    c => key.push(c),
                }
            }
        }
        let value = rest.trim().split(' ').next().unwrap_or_default();
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other.parse().unwrap_or_else(|_| panic!("a number: {line}")),
        };
        samples.push((name, labels, value));
    }
    Scrape {
        text: text.to_string(),
        samples,
    }
}

async fn scrape(url: &str, token: Option<&str>) -> Scrape {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the scrape answers");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    parse(&response.text().await.unwrap())
}

/// Scrapes until `ready` holds.
async fn wait_for_scrape(url: &str, ready: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let scrape = scrape(url, Some(TOKEN)).await;
        if ready(&scrape) {
            return scrape;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the scrape never got there:\n{}",
            scrape.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// An initialised anonymous `graphql-transport-ws` socket.
async fn open_socket(base: &str) -> Socket {
    let url = format!("{}/graphql", base.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket
        .send(Message::text(
            json!({ "type": "connection_init" }).to_string(),
        ))
        .await
        .unwrap();
    let ack = tokio::time::timeout(DEADLINE, socket.next())
        .await
        .expect("an answer to connection_init");
    match ack {
        Some(Ok(Message::Text(text))) => assert!(text.contains("connection_ack"), "{text}"),
        other => panic!("expected connection_ack, got {other:?}"),
    }
    socket
}

/// What these tests ask of a spawned server.
trait Observed {
    /// Polls until a log line holds both `marker` and `id`.
    async fn wait_for_log_line(&self, marker: &str, id: &str) -> String;
    /// POSTs a named operation, with an optional bearer token.
    async fn gql(
        &self,
        token: Option<&str>,
        query: &str,
        operation: &str,
        variables: Value,
    ) -> Value;
    /// Signs up `email` and returns the session token.
    async fn sign_up(&self, email: &str) -> String;
}

impl Observed for ServerProcess {
    async fn wait_for_log_line(&self, marker: &str, id: &str) -> String {
        self.wait_for_log(&format!("a {marker:?} line with {id}"), |log| {
            log.lines()
                .any(|line| line.contains(marker) && line.contains(id))
        })
        .await
    }

    async fn gql(
        &self,
        token: Option<&str>,
        query: &str,
        operation: &str,
        variables: Value,
    ) -> Value {
        self.post_graphql(
            token,
            &json!({ "query": query, "operationName": operation, "variables": variables }),
        )
        .await
    }
    async fn sign_up(&self, email: &str) -> String {
        let body = self
            .gql(
                None,
                "mutation SignUp($input: SignUpInput!) { signUp(input: $input) { token } }",
                "SignUp",
                json!({ "input": { "email": email, "password": "correct horse battery", "name": "Ada" } }),
            )
            .await;
        body["data"]["signUp"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("sign-up failed: {body}"))
            .to_string()
    }
}
