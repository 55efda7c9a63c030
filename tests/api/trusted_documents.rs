//! Trusted documents and automatic persisted queries over HTTP (POST, GET)
//! and WebSocket, a bad manifest at start, and `check-documents`.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::server::error_code;
use crate::harness::ws::{Received, WsClient, wait_for_subscribers};
use crate::harness::{TestDb, TestServer};

const KNOWN: &str = "query Known { __typename }";
const FEED: &str = "subscription Feed { feedPostPublished { title } }";
/// Needs its variables, which only a request has (the start-up check does without).
const PAGE: &str = "query Page($first: Int!, $after: String) { feed(first: $first, after: $after) { edges { node { id } } } }";
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

fn sha256(document: &str) -> String {
    Sha256::digest(document.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A manifest in a temporary file of its own, removed when dropped.
struct ManifestFile(PathBuf);

impl ManifestFile {
    fn path(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }
}

impl Drop for ManifestFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Writes `manifest` to a file of its own.
fn manifest_file(name: &str, manifest: &Value) -> ManifestFile {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "growth-diary-{name}-{}-{}.json",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, manifest.to_string()).expect("the manifest is written");
    ManifestFile(path)
}

fn good_manifest() -> ManifestFile {
    manifest_file(
        "trusted",
        &json!({ sha256(KNOWN): KNOWN, sha256(FEED): FEED, sha256(PAGE): PAGE }),
    )
}

async fn trusted_only_server(db: impl Into<Arc<TestDb>>) -> TestServer {
    // Read once, at start: the file may go once the server runs.
    let manifest = good_manifest();
    let path = manifest.0.clone();
    TestServer::start_with(db, move |config| {
        config.documents.trusted_documents = Some(path);
        config.documents.trusted_documents_only = true;
    })
    .await
}

fn apq(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// POSTs `body` and returns the status and the JSON answer.
async fn post(server: &TestServer, accept: &str, body: &Value) -> (StatusCode, Value) {
    let response = server
        .client
        .post(server.url("/graphql"))
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, accept)
        .body(body.to_string())
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    (status, response.json().await.expect("a JSON body"))
}

/// GETs /graphql with `params` and returns the status and the JSON answer.
async fn get(server: &TestServer, params: &[(&str, String)]) -> (StatusCode, Value) {
    let response = server
        .client
        .get(server.url("/graphql"))
        .header(ACCEPT, "application/json")
        .query(params)
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    (status, response.json().await.expect("a JSON body"))
}

fn typename(body: &Value) -> &Value {
    &body["data"]["__typename"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_only_server_runs_its_manifest_and_nothing_else() {
    let server = trusted_only_server(TestDb::new().await).await;
    let hash = sha256(KNOWN);

    // Unknown documents are refused before parsing, with no `data`: 200 in
    // application/json, 400 in application/graphql-response+json.
    for (accept, status) in [
        ("application/json", StatusCode::OK),
        (GRAPHQL_RESPONSE, StatusCode::BAD_REQUEST),
    ] {
        let (got, body) = post(&server, accept, &json!({ "query": "{ __typename }" })).await;
        assert_eq!(got, status, "{body}");
        assert_eq!(
            error_code(&body),
            Some("TRUSTED_DOCUMENT_REQUIRED"),
            "{body}"
        );
        assert!(body.get("data").is_none(), "{body}");

        let unknown = json!({ "extensions": apq(&sha256("{ me { id } }")) });
        let (got, body) = post(&server, accept, &unknown).await;
        assert_eq!(got, status, "{body}");
        assert_eq!(
            error_code(&body),
            Some("PERSISTED_QUERY_NOT_FOUND"),
            "{body}"
        );
        assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    }
    // Registering a new document is refused too.
    let register =
        json!({ "query": "{ __typename }", "extensions": apq(&sha256("{ __typename }")) });
    let (_, body) = post(&server, "application/json", &register).await;
    assert_eq!(
        error_code(&body),
        Some("TRUSTED_DOCUMENT_REQUIRED"),
        "{body}"
    );
    let (_, body) = post(
        &server,
        "application/json",
        &json!({ "documentId": format!("sha256:{}", "0".repeat(64)) }),
    )
    .await;
    assert_eq!(
        error_code(&body),
        Some("PERSISTED_QUERY_NOT_FOUND"),
        "{body}"
    );

    // Known documents run: by APQ hash, by documentId (prefixed or bare), by their text.
    for body in [
        json!({ "extensions": apq(&hash) }),
        json!({ "documentId": format!("sha256:{hash}") }),
        json!({ "documentId": hash }),
        json!({ "query": KNOWN }),
    ] {
        let (status, answer) = post(&server, GRAPHQL_RESPONSE, &body).await;
        assert_eq!(status, StatusCode::OK, "{body}: {answer}");
        assert_eq!(typename(&answer), "Query", "{body}: {answer}");
    }
    // ... with their variables.
    let page = json!({ "documentId": sha256(PAGE), "variables": { "first": 5 } });
    let (status, answer) = post(&server, GRAPHQL_RESPONSE, &page).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["data"]["feed"]["edges"], json!([]), "{answer}");
    // ... by GET in both shapes.
    let (status, answer) = get(&server, &[("extensions", apq(&hash).to_string())]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(typename(&answer), "Query", "{answer}");
    let (status, answer) = get(&server, &[("documentId", format!("sha256:{hash}"))]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(typename(&answer), "Query", "{answer}");
    let (_, answer) = get(&server, &[("query", "{ __typename }".into())]).await;
    assert_eq!(
        error_code(&answer),
        Some("TRUSTED_DOCUMENT_REQUIRED"),
        "{answer}"
    );

    // In a batch, each operation is judged on its own.
    let batch = json!([{ "documentId": hash }, { "query": "{ __typename }" }]);
    let (status, answer) = post(&server, "application/json", &batch).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(typename(&answer[0]), "Query", "{answer}");
    assert_eq!(
        error_code(&answer[1]),
        Some("TRUSTED_DOCUMENT_REQUIRED"),
        "{answer}"
    );

    assert!(server.services.config.documents.trusted_documents_only);
}

/// GraphQL Codegen's client preset keys its manifest `sha256:<hex>` (the
/// `documentId` its documents send): such a manifest loads and runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_keyed_as_the_client_preset_writes_it_runs() {
    let manifest = manifest_file(
        "preset",
        &json!({ format!("sha256:{}", sha256(KNOWN)): KNOWN, format!("sha256:{}", sha256(PAGE)): PAGE }),
    );
    let path = manifest.0.clone();
    let server = TestServer::start_with(TestDb::new().await, move |config| {
        config.documents.trusted_documents = Some(path);
        config.documents.trusted_documents_only = true;
    })
    .await;
    for body in [
        json!({ "documentId": format!("sha256:{}", sha256(KNOWN)) }),
        json!({ "extensions": apq(&sha256(KNOWN)) }),
    ] {
        let (status, answer) = post(&server, GRAPHQL_RESPONSE, &body).await;
        assert_eq!(status, StatusCode::OK, "{body}: {answer}");
        assert_eq!(typename(&answer), "Query", "{body}: {answer}");
    }
    let page =
        json!({ "documentId": format!("sha256:{}", sha256(PAGE)), "variables": { "first": 5 } });
    let (status, answer) = post(&server, GRAPHQL_RESPONSE, &page).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["data"]["feed"]["edges"], json!([]), "{answer}");

    let output = binary(&[], &["check-documents", &manifest.path()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_persisted_queries_register_then_run_by_hash() {
    let server = TestServer::start().await;
    let query = "query Apq { __typename }";
    let hash = sha256(query);

    let (_, body) = post(
        &server,
        "application/json",
        &json!({ "extensions": apq(&hash) }),
    )
    .await;
    assert_eq!(
        error_code(&body),
        Some("PERSISTED_QUERY_NOT_FOUND"),
        "{body}"
    );
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");

    let wrong = json!({ "query": query, "extensions": apq(&sha256("{ other }")) });
    let (_, body) = post(&server, "application/json", &wrong).await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");

    let register = json!({ "query": query, "extensions": apq(&hash) });
    let (status, body) = post(&server, "application/json", &register).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(typename(&body), "Query", "{body}");

    let (_, body) = post(
        &server,
        "application/json",
        &json!({ "extensions": apq(&hash) }),
    )
    .await;
    assert_eq!(typename(&body), "Query", "{body}");
    let (_, body) = get(&server, &[("extensions", apq(&hash).to_string())]).await;
    assert_eq!(typename(&body), "Query", "{body}");

    // A mutation registered by POST is still refused by GET.
    let mutation = "mutation Out { signOut }";
    let register = json!({ "query": mutation, "extensions": apq(&sha256(mutation)) });
    post(&server, "application/json", &register).await;
    let (status, _) = get(
        &server,
        &[("extensions", apq(&sha256(mutation)).to_string())],
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    // Plain queries run as always.
    let (_, body) = post(
        &server,
        "application/json",
        &json!({ "query": "{ __typename }" }),
    )
    .await;
    assert_eq!(typename(&body), "Query", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apq_keeps_only_documents_that_parse_and_validate() {
    let server = TestServer::start().await;
    for document in [
        "x",
        "{",
        "query Nope { noSuchField }",
        "{ me { id } } { __typename }",
    ] {
        let hash = sha256(document);
        let register = json!({ "query": document, "extensions": apq(&hash) });
        let (_, body) = post(&server, "application/json", &register).await;
        assert_eq!(
            error_code(&body),
            Some("BAD_USER_INPUT"),
            "{document}: {body}"
        );
        let (_, body) = post(
            &server,
            "application/json",
            &json!({ "extensions": apq(&hash) }),
        )
        .await;
        assert_eq!(
            body["errors"][0]["message"], "PersistedQueryNotFound",
            "{document} was kept: {body}"
        );
        let (_, body) = get(&server, &[("extensions", apq(&hash).to_string())]).await;
        assert_eq!(
            body["errors"][0]["message"], "PersistedQueryNotFound",
            "{document} was kept: {body}"
        );
    }
    // A valid document is kept even when its resolver refuses the caller.
    let mine = "query Mine { unreadNotificationCount }";
    let register = json!({ "query": mine, "extensions": apq(&sha256(mine)) });
    let (_, body) = post(&server, "application/json", &register).await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    let (_, body) = post(
        &server,
        "application/json",
        &json!({ "extensions": apq(&sha256(mine)) }),
    )
    .await;
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");

    // Over a WebSocket: an invalid subscription is not kept, a running one is.
    let mut socket = WsClient::connect(&server, None).await;
    let invalid = "subscription Nope { noSuchField }";
    let valid = "subscription Kept { feedPostPublished { id } }";
    for (id, document) in [("invalid", invalid), ("valid", valid)] {
        socket
            .send(json!({ "id": id, "type": "subscribe", "payload": { "query": document, "extensions": apq(&sha256(document)) } }))
            .await;
    }
    let refused = socket.next_for("invalid").await;
    assert!(
        refused["payload"]["errors"][0]["message"].is_string(),
        "{refused}"
    );
    assert_eq!(socket.next_for("invalid").await["type"], "complete");
    wait_for_subscribers(&server, 1).await;
    socket
        .send(json!({ "id": "again", "type": "subscribe", "payload": { "query": "", "extensions": apq(&sha256(invalid)) } }))
        .await;
    let missing = socket.next_for("again").await;
    assert_eq!(
        missing["payload"][0]["message"], "PersistedQueryNotFound",
        "{missing}"
    );
    let (_, body) = post(
        &server,
        "application/json",
        &json!({ "extensions": apq(&sha256(valid)) }),
    )
    .await;
    assert_ne!(
        body["errors"][0]["message"], "PersistedQueryNotFound",
        "the running subscription's document was kept: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_run_by_hash() {
    let db = Arc::new(TestDb::new().await);
    let trusted = trusted_only_server(db.clone()).await;
    // Writes come from an ordinary instance on the same database.
    let writer = TestServer::start_with(db, |_| {}).await;

    let mut socket = WsClient::connect(&trusted, None).await;
    socket
        .send(json!({ "id": "unknown", "type": "subscribe", "payload": { "query": "subscription { feedPostPublished { id } }" } }))
        .await;
    let refused = socket.next_for("unknown").await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "TRUSTED_DOCUMENT_REQUIRED"
    );

    socket
        .send(json!({ "id": "feed", "type": "subscribe", "payload": { "query": "", "extensions": apq(&sha256(FEED)) } }))
        .await;
    socket
        .send(json!({ "id": "feed2", "type": "subscribe", "payload": { "documentId": format!("sha256:{}", sha256(FEED)) } }))
        .await;
    wait_for_subscribers(&trusted, 2).await;

    let author = writer.sign_up("writer@example.com").await;
    author.post("Shipped it", "PUBLISHED").await;
    for _ in 0..2 {
        match socket.next().await {
            Received::Message(message) => {
                assert_eq!(message["type"], "next", "{message}");
                assert_eq!(
                    message["payload"]["data"]["feedPostPublished"]["title"], "Shipped it",
                    "{message}"
                );
            }
            other => panic!("expected an event, got {other:?}"),
        }
    }
}

fn binary(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_growth-diary"));
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("TRUSTED_DOCUMENTS")
        .env_remove("TRUSTED_DOCUMENTS_ONLY")
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("DATABASE_CONNECT_TIMEOUT_SECS", "2");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the binary runs")
}

/// The one line on stderr of a failed run.
fn one_line_failure(output: &Output) -> String {
    assert!(!output.status.success(), "the process must fail");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line on stderr, got: {stderr}");
    lines[0].to_owned()
}

/// Bad manifests, each with what its line must say.
fn bad_manifests() -> Vec<(ManifestFile, Vec<String>)> {
    let mismatch_key = sha256("{ a }");
    let invalid = "query Bad { noSuchField }";
    vec![
        (
            manifest_file("mismatch", &json!({ mismatch_key.clone(): "{ b }" })),
            vec![format!("entry {mismatch_key}"), "SHA-256".into()],
        ),
        (
            manifest_file(
                "invalid",
                &json!({ sha256(invalid): invalid, sha256(KNOWN): KNOWN }),
            ),
            vec![
                format!("entry {}", sha256(invalid)),
                "does not validate".into(),
                "noSuchField".into(),
            ],
        ),
    ]
}

#[test]
fn a_bad_manifest_stops_the_start_with_one_line() {
    for (manifest, expected) in bad_manifests() {
        let line = one_line_failure(&binary(&[("TRUSTED_DOCUMENTS", &manifest.path())], &[]));
        for part in expected {
            assert!(line.contains(&part), "{line:?} should mention {part:?}");
        }
    }
    let line = one_line_failure(&binary(&[("TRUSTED_DOCUMENTS_ONLY", "true")], &[]));
    assert!(line.contains("TRUSTED_DOCUMENTS"), "{line}");
}

#[test]
fn check_documents_exits_0_or_1_with_the_line() {
    let good = good_manifest();
    let output = binary(&[], &["check-documents", &good.path()]);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("3 trusted documents"), "{stdout}");

    for (manifest, expected) in bad_manifests() {
        let line = one_line_failure(&binary(&[], &["check-documents", &manifest.path()]));
        assert!(
            line.contains(&expected[0]),
            "{line:?} should mention {:?}",
            expected[0]
        );
    }
    let line = one_line_failure(&binary(&[], &["check-documents", "/no/such/manifest.json"]));
    assert!(line.contains("cannot read"), "{line}");
}
