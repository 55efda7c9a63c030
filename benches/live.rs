//! Live updates benchmark: idle subscribed sockets per instance with the
//! server's memory per socket, and the delay from a write to its delivery at
//! 1,000 subscribers of one post.
//!
//! Starts the release server (`target/release/growth-diary`, or under
//! `$CARGO_TARGET_DIR`, or `$BENCH_SERVER`; build it first)
//! on a fresh database, opens the sockets from this process, and prints a
//! summary. Run: `cargo build --release && cargo bench --bench live`.
//! Settings (env): `LIVE_BENCH_SOCKETS` (10000), `LIVE_BENCH_SUBSCRIBERS`
//! (1000), `LIVE_BENCH_EVENTS` (30), `LIVE_BENCH_PORT` (18080).

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::mpsc;

use support::ws::Socket;
use support::{Server, percentile, setting};

const DATABASE: &str = "growth_diary_live_bench";

/// Opens a socket, initialises it and subscribes to `postUpdated(post)`;
/// then reports the arrival time of every `next` on `arrivals`.
async fn subscriber(
    url: String,
    post: String,
    ready: mpsc::Sender<()>,
    arrivals: Option<mpsc::UnboundedSender<Instant>>,
) {
    let mut socket = Socket::open(&url, IpAddr::V4(Ipv4Addr::LOCALHOST), None)
        .await
        .expect("the upgrade succeeds");
    socket
        .subscribe(
            "1",
            "subscription($p: ID!) { postUpdated(postId: $p) { likeCount } }",
            json!({ "p": post }),
        )
        .await;
    let _ = ready.send(()).await;
    while let Some((message, arrived)) = socket.next_timed().await {
        if let Some(arrivals) = &arrivals
            && message["type"] == "next"
        {
            let _ = arrivals.send(arrived);
        }
    }
}

#[tokio::main]
async fn main() {
    let sockets = setting("LIVE_BENCH_SOCKETS", 10_000);
    let subscribers = setting("LIVE_BENCH_SUBSCRIBERS", 1_000);
    let events = setting("LIVE_BENCH_EVENTS", 30);
    let port = setting("LIVE_BENCH_PORT", 18_080);
    let server = Server::start(
        DATABASE,
        port,
        &[
            // Every socket comes from 127.0.0.1.
            ("WS_MAX_SOCKETS_PER_ADDRESS", "1000000".into()),
            ("WS_MAX_SOCKETS", "1000000".into()),
        ],
    )
    .await;
    let ws_url = server.ws_url.clone();
    let author = server.sign_up("author@bench.example").await;
    let liker = server.sign_up("liker@bench.example").await;
    let mut posts = Vec::new();
    for _ in 0..2 {
        posts.push(server.create_post(&author, "Bench", "x").await);
    }
    // Idle sockets watch a post that never changes; the timed ones another.
    let (idle_post, post) = (posts[0].clone(), posts[1].clone());

    // 1. Idle subscribed sockets.
    let idle_rss = server.memory().rss_kib;
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
    let loaded_rss = server.memory().rss_kib;
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
    let cpu_before = server.cpu_time();
    for n in 0..events {
        let mutation = if n % 2 == 0 {
            "mutation($p: ID!) { likePost(postId: $p) { likeCount } }"
        } else {
            "mutation($p: ID!) { unlikePost(postId: $p) { likeCount } }"
        };
        let sent = Instant::now();
        server
            .gql(Some(&liker), mutation, json!({ "p": post }))
            .await;
        writes.push(sent.elapsed());
        for _ in 0..subscribers {
            let arrived = tokio::time::timeout(Duration::from_secs(30), arrival_rx.recv())
                .await
                .expect("every subscriber gets the event")
                .expect("arrivals");
            delays.push(arrived.saturating_duration_since(sent));
        }
    }
    let cpu = server.cpu_time().saturating_sub(cpu_before);
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
        server.memory().rss_kib as f64 / 1024.0
    );
}
