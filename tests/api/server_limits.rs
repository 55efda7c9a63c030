//! Timeouts and the connection cap, over raw TCP: a half-sent request is
//! closed, a stalled body is cut, a stuck request is stopped with a coded
//! error, and connections past the cap wait for a free slot.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::server::error_code;
use crate::harness::{TestDb, TestServer};

/// How long a test waits for the server before calling it stuck.
const PATIENCE: Duration = Duration::from_secs(15);

async fn connect(server: &TestServer) -> TcpStream {
    let addr = server.base.trim_start_matches("http://");
    TcpStream::connect(addr)
        .await
        .expect("connect to the server")
}

/// Everything the server sends until it closes the connection, or None when
/// it is still open after [`PATIENCE`].
async fn read_until_closed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(received),
            Ok(Ok(n)) => received.extend_from_slice(&chunk[..n]),
        }
    }
}

/// One complete response (head and `Content-Length` body) on a kept-alive connection.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let text = String::from_utf8_lossy(&received).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
            .await
            .expect("the server answers in time")
            .expect("the connection stays up");
        assert!(n > 0, "the server closed the connection mid-response");
        received.extend_from_slice(&chunk[..n]);
    }
}

/// The status code and JSON body of a raw HTTP/1.1 response.
fn parse(raw: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_and_idle_connections_are_closed_at_the_header_timeout() {
    let server = TestServer::start_with(TestDb::new().await, |config| {
        config.http_limits.header_read_timeout_secs = 1;
    })
    .await;

    let mut half_sent = connect(&server).await;
    half_sent
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Ty")
        .await
        .unwrap();
    let mut silent = connect(&server).await;
    let mut idle = connect(&server).await;
    idle.write_all(HEALTHZ).await.unwrap();
    let answer = read_response(&mut idle).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let started = Instant::now();
    for (what, stream) in [
        ("half a request", &mut half_sent),
        ("nothing at all", &mut silent),
        ("nothing after its first request", &mut idle),
    ] {
        let received = read_until_closed(stream).await;
        assert!(
            received.is_some(),
            "a connection that sent {what} is still open after {PATIENCE:?}"
        );
        let received = received.unwrap_or_default();
        // hyper may say 408 before closing; it must never run the request.
        assert!(
            received.is_empty() || received.starts_with(b"HTTP/1.1 408"),
            "{what}: {}",
            String::from_utf8_lossy(&received)
        );
    }
    eprintln!(
        "three stalled connections closed {:?} after the first check began (header timeout 1 s)",
        started.elapsed()
    );

    // Normal requests still work.
    let body = server
        .gql("{ feed(first: 1) { edges { node { id } } } }", json!({}))
        .await;
    assert!(body["data"]["feed"].is_object(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_answered_408_and_closed() {
    let server = TestServer::start_with(TestDb::new().await, |config| {
        config.http_limits.body_read_timeout_secs = 1;
    })
    .await;
    let mut stream = connect(&server).await;
    stream
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"query\":",
        )
        .await
        .unwrap();
    let received = read_until_closed(&mut stream)
        .await
        .expect("the server closes a connection whose body stalled");
    let (status, body) = parse(&received);
    assert_eq!(status, 408, "{body}");
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not sent in time")),
        "{body}"
    );

    let body = server
        .gql("{ feed(first: 1) { edges { node { id } } } }", json!({}))
        .await;
    assert!(body["data"]["feed"].is_object(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_time_limit_is_answered_503_with_a_code() {
    let server = TestServer::start_with(TestDb::new().await, |config| {
        config.http_limits.request_timeout_secs = 1;
    })
    .await;
    // A lock held elsewhere stalls the feed's statement (well within the
    // 10 s statement_timeout): only the request limit can end the request.
    let locker = server.db.client().await;
    locker
        .batch_execute("BEGIN; LOCK TABLE posts IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let response = server
        .client
        .post(server.url("/graphql"))
        .json(&json!({ "query": "{ feed(first: 1) { edges { node { id } } } }" }))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(error_code(&body), Some("INTERNAL_SERVER_ERROR"), "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("took too long")),
        "{body}"
    );

    locker.batch_execute("ROLLBACK").await.unwrap();
    let body = server
        .gql("{ feed(first: 1) { edges { node { id } } } }", json!({}))
        .await;
    assert!(body["data"]["feed"].is_object(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_until_a_slot_frees() {
    let server = TestServer::start_with(TestDb::new().await, |config| {
        config.http_limits.max_connections = 2;
    })
    .await;
    let mut first = connect(&server).await;
    let mut second = connect(&server).await;
    for stream in [&mut first, &mut second] {
        stream.write_all(HEALTHZ).await.unwrap();
        let answer = read_response(stream).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }

    // The kernel completes the handshake, but the server does not take the
    // connection while both slots are held.
    let mut third = connect(&server).await;
    third.write_all(HEALTHZ).await.unwrap();
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut byte)).await;
    assert!(
        early.is_err(),
        "a third connection was served while the cap of 2 was reached"
    );

    // A held connection can still be used, and closing it frees a slot.
    second.write_all(HEALTHZ).await.unwrap();
    assert!(read_response(&mut second).await.starts_with("HTTP/1.1 200"));
    drop(first);
    let answer = read_response(&mut third).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
