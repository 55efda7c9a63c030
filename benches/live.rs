//! Live updates benchmark: idle subscribed sockets per instance with the
//! server's memory per socket, and the delay from a write to its delivery at
//! 1,000 subscribers of one post.
//!
//! Starts the release server (`target/release/growth-diary`, build it first)
//! on a fresh database, opens the sockets from this process, and prints a
//! summary. Run: `cargo build --release && cargo bench --bench live`.
//! Settings (env): `LIVE_BENCH_SOCKETS` (10000), `LIVE_BENCH_SUBSCRIBERS`
//! (1000), `LIVE_BENCH_EVENTS` (30), `LIVE_BENCH_PORT` (18080).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const DATABASE: &str = "growth_diary_live_bench";

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

async fn gql(
    http: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = http
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .expect("JSON")
}

async fn sign_up(http: &reqwest::Client, base: &str, email: &str) -> String {
    let body = gql(
        http,
        base,
        None,
        "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
        json!({ "i": { "email": email, "password": "correct horse battery", "name": "Bench" } }),
    )
    .await;
    body["data"]["signUp"]["token"]
        .as_str()
        .expect("signed up")
        .to_string()
}

/// Opens a socket, initialises it and subscribes to `postUpdated(post)`;
/// then reports the arrival time of every `next` on `arrivals`.
async fn subscriber(
    url: String,
    post: String,
    ready: mpsc::Sender<()>,
    arrivals: Option<mpsc::UnboundedSender<Instant>>,
) {
    let mut request = url.into_client_request().expect("a request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the upgrade succeeds");
    socket
        .send(Message::text(
            json!({ "type": "connection_init" }).to_string(),
        ))
        .await
        .expect("init");
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": {
        "query": "subscription($p: ID!) { postUpdated(postId: $p) { likeCount } }",
        "variables": { "p": post } } });
    let mut acked = false;
    while let Some(Ok(frame)) = socket.next().await {
        let Message::Text(text) = frame else { continue };
        if !acked {
            acked = true;
            socket
                .send(Message::text(subscribe.to_string()))
                .await
                .expect("subscribe");
            let _ = ready.send(()).await;
            continue;
        }
        if let Some(arrivals) = &arrivals
            && text.contains("\"next\"")
        {
            let _ = arrivals.send(Instant::now());
        }
    }
}

/// CPU time the process has used (user and system), from /proc.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<u64> = after_name
        .split_whitespace()
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_millis(ticks * 1000 / per_second)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let sockets = setting("LIVE_BENCH_SOCKETS", 10_000);
    let subscribers = setting("LIVE_BENCH_SUBSCRIBERS", 1_000);
    let events = setting("LIVE_BENCH_EVENTS", 30);
    let port = setting("LIVE_BENCH_PORT", 18_080);
    let base = format!("http://127.0.0.1:{port}");
    let ws_url = format!("ws://127.0.0.1:{port}/graphql");

    let admin = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-qc"])
        .arg(format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        .arg("postgres")
        .status()
        .expect("psql runs");
    assert!(admin.success());
    let binary = concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/growth-diary");
    let binary = std::env::var("LIVE_BENCH_SERVER").unwrap_or_else(|_| binary.to_string());
    let server = Server(
        Command::new(&binary)
            .env(
                "DATABASE_URL",
                format!("postgres://postgres@127.0.0.1:5432/{DATABASE}"),
            )
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            // Every socket comes from 127.0.0.1.
            .env("WS_MAX_SOCKETS_PER_ADDRESS", "1000000")
            .env("WS_MAX_SOCKETS", "1000000")
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot start {binary}: {err} (cargo build --release first)")
            }),
    );
    let pid = server.0.id();
    let http = reqwest::Client::new();
    let started = Instant::now();
    while !http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let author = sign_up(&http, &base, "author@bench.example").await;
    let liker = sign_up(&http, &base, "liker@bench.example").await;
    let create = "mutation { createPost(input: { title: \"Bench\", content: \"x\", status: PUBLISHED }) { id } }";
    let mut posts = Vec::new();
    for _ in 0..2 {
        let body = gql(&http, &base, Some(&author), create, json!({})).await;
        posts.push(
            body["data"]["createPost"]["id"]
                .as_str()
                .expect("a post")
                .to_string(),
        );
    }
    // Idle sockets watch a post that never changes; the timed ones another.
    let (idle_post, post) = (posts[0].clone(), posts[1].clone());

    // 1. Idle subscribed sockets.
    let idle_rss = rss_kib(pid);
    let (ready_tx, mut ready_rx) = mpsc::channel(sockets.max(1));
    let opened = Instant::now();
    for n in 0..sockets {
        tokio::spawn(subscriber(
            ws_url.clone(),
            idle_post.clone(),
            ready_tx.clone(),
            None,
        ));
        if n % 500 == 499 {
            // Let the accept queue drain.
            tokio::task::yield_now().await;
        }
    }
    for _ in 0..sockets {
        ready_rx.recv().await.expect("a socket is ready");
    }
    // Subscriptions start once the server reads them: wait until it is quiet.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let loaded_rss = rss_kib(pid);
    let per_socket = (loaded_rss.saturating_sub(idle_rss)) as f64 / sockets.max(1) as f64;
    println!(
        "idle sockets: {sockets} subscribed in {:.1} s; server RSS {:.1} MiB before, {:.1} MiB after ({per_socket:.1} KiB per socket)",
        opened.elapsed().as_secs_f64(),
        idle_rss as f64 / 1024.0,
        loaded_rss as f64 / 1024.0,
    );

    // 2. Delay from a write to delivery at `subscribers` subscribers of one post.
    // The idle sockets stay open: every event still reaches each of their
    // receivers, which filter it out.
    let (ready_tx, mut ready_rx) = mpsc::channel(subscribers.max(1));
    let (arrival_tx, mut arrival_rx) = mpsc::unbounded_channel();
    let arrival_tx = Arc::new(arrival_tx);
    for _ in 0..subscribers {
        tokio::spawn(subscriber(
            ws_url.clone(),
            post.clone(),
            ready_tx.clone(),
            Some((*arrival_tx).clone()),
        ));
    }
    for _ in 0..subscribers {
        ready_rx.recv().await.expect("a subscriber is ready");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut delays = Vec::new();
    let mut writes = Vec::new();
    let cpu_before = cpu_time(pid);
    for n in 0..events {
        let mutation = if n % 2 == 0 {
            "mutation($p: ID!) { likePost(postId: $p) { likeCount } }"
        } else {
            "mutation($p: ID!) { unlikePost(postId: $p) { likeCount } }"
        };
        let sent = Instant::now();
        gql(&http, &base, Some(&liker), mutation, json!({ "p": post })).await;
        writes.push(sent.elapsed());
        for _ in 0..subscribers {
            let arrived = tokio::time::timeout(Duration::from_secs(30), arrival_rx.recv())
                .await
                .expect("every subscriber gets the event")
                .expect("arrivals");
            delays.push(arrived.saturating_duration_since(sent));
        }
    }
    let cpu = cpu_time(pid).saturating_sub(cpu_before);
    delays.sort();
    writes.sort();
    println!(
        "delivery to {subscribers} subscribers of one post (with {sockets} idle sockets open), {events} events: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (from sending the mutation; the mutation's own round trip p50 {:.1} ms)",
        percentile(&delays, 0.50).as_secs_f64() * 1e3,
        percentile(&delays, 0.99).as_secs_f64() * 1e3,
        delays.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        percentile(&writes, 0.50).as_secs_f64() * 1e3,
    );
    println!(
        "server CPU during the deliveries: {:.2} s, {:.1} ms per event (the mutation included)",
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e3 / events.max(1) as f64,
    );
    println!(
        "server RSS at the end: {:.1} MiB",
        rss_kib(pid) as f64 / 1024.0
    );
}
