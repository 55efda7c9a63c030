//! What live updates cost the server at their limits.
//!
//! 1. **Socket memory.** From one address, opens signed-in sockets until the
//!    server refuses the upgrade (429: `WS_MAX_SOCKETS_PER_ADDRESS`), and
//!    fills each to its limits: one message of `WS_MAX_MESSAGE_BYTES` (the
//!    read buffer), `WS_MAX_SUBSCRIPTIONS` subscriptions with 128-byte ids
//!    whose ids, documents and variables fill the socket's text budget, one
//!    of them selecting two long post texts; then a post whose text makes
//!    each socket's `next` as large as allowed (the write buffer). Reports the
//!    server's RSS before, with the subscriptions held, after the largest
//!    event, and after closing, against the bound the server computes from
//!    its limits (`growth_diary::http::ws::socket_memory_bound`). Signed-in
//!    sockets are the worst case: anonymous ones share 200 subscriptions per
//!    address.
//! 2. **Event cost.** `LIVE_COSTS_SUBSCRIBERS` anonymous sockets subscribed
//!    to `feedPostPublished` with a deep selection; a user publishes a post
//!    `LIVE_COSTS_EVENTS` times. Reports the SQL statements each event cost
//!    the server (its `growth_diary_db_statements_total`, the mutation
//!    included, and the same with no subscriber) and the delay from sending
//!    the mutation to each subscriber's `next` (p50, p99). Once with one
//!    document for all (shared: one run per event), once with a distinct
//!    document each (unshared: one run per subscriber). The per-address
//!    limits (100 sockets, 200 anonymous subscriptions) are kept: the
//!    sockets come from as many loopback addresses (127.0.0.1, .2, …) as
//!    they require, and the output says how many.
//!
//! Run (one command; builds the server, then the bench):
//! `cargo build --release && cargo bench --bench live_costs`
//! Settings (env): `LIVE_COSTS_SUBSCRIBERS` (1000), `LIVE_COSTS_EVENTS` (5),
//! `LIVE_COSTS_PART` (`all`, `memory` or `events`), `LIVE_COSTS_PORT`
//! (18100); the server's own `WS_*` settings pass through to it;
//! `BENCH_SERVER` another server binary. Database:
//! `growth_diary_live_costs_bench` (dropped and made again at each start).

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use growth_diary::http::ws::{MAX_ID_BYTES, MAX_KEPT_TEXT, MAX_PAYLOAD_BYTES, socket_memory_bound};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use support::ws::{Reading, Refused, Socket};
use support::{Server, ms, percentile, setting, settle};

const DATABASE: &str = "growth_diary_live_costs_bench";

/// The deep selection of the event-cost part (as in tests/api/live_costs.rs):
/// the new post, its author's latest posts and their first replies with
/// their authors.
const DEEP_FEED: &str = "subscription { feedPostPublished { id title author { name posts(first: 3) { edges { node { title likeCount replies(first: 2) { edges { node { author { name } } } } } } } } } }";

/// Selects the new post's text twice: a payload of twice its size.
const LONG_TEXTS: &str = "subscription { feedPostPublished { a: content b: content } }";

/// Signed-in sockets one user may hold (`WS_MAX_SOCKETS_PER_USER`).
fn sockets_per_user() -> usize {
    setting("WS_MAX_SOCKETS_PER_USER", 20).max(1)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn loopback(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
}

/// A 128-byte subscription id.
fn id(n: usize) -> String {
    format!("{n:0>width$}", width = MAX_ID_BYTES)
}

/// Fills `socket` to its limits: one message of `max_message` bytes, then
/// `max_subscriptions` subscriptions (one to [`LONG_TEXTS`], the rest to
/// `postUpdated(post)` padded with a comment) whose text together is just
/// under the socket's budget.
async fn fill(socket: &mut Socket, max_message: usize, max_subscriptions: usize, post: &str) {
    let envelope = r#"{"type":"ping","payload":{"pad":""}}"#.len();
    let pad = "p".repeat(max_message.saturating_sub(envelope + 16));
    socket
        .send(json!({ "type": "ping", "payload": { "pad": pad } }))
        .await;
    socket.subscribe(&id(0), LONG_TEXTS, json!({})).await;
    // The server counts each subscription's id, document and variables (as
    // JSON); the rest of the budget, less a margin, is shared out evenly.
    let variables = json!({ "p": post }).to_string();
    let first = MAX_ID_BYTES + LONG_TEXTS.len() + "{}".len();
    let others = max_subscriptions.saturating_sub(1).max(1);
    let each = (MAX_KEPT_TEXT - first - 64) / others;
    let watch = "subscription($p: ID!) { postUpdated(postId: $p) { id } }";
    let padding = each.saturating_sub(MAX_ID_BYTES + variables.len() + watch.len() + 3);
    let document = format!("# {}\n{watch}", "x".repeat(padding));
    for n in 1..max_subscriptions {
        socket
            .subscribe(&id(n), &document, json!({ "p": post }))
            .await;
    }
    let answers = socket.settled().await;
    let refused: Vec<&Value> = answers
        .iter()
        .filter(|message| message["type"] != "pong" && message["type"] != "next")
        .collect();
    assert!(
        refused.is_empty(),
        "a subscription was refused: {refused:?}"
    );
}

async fn socket_memory(port: usize) {
    let server = Server::start(DATABASE, port, &[]).await;
    let max_message = setting("WS_MAX_MESSAGE_BYTES", 65_536);
    let max_subscriptions = setting("WS_MAX_SUBSCRIPTIONS", 50);
    let expected = setting("WS_MAX_SOCKETS_PER_ADDRESS", 100);
    // Enough users for the expected limit and one more socket (the refused one).
    let users = expected.div_ceil(sockets_per_user()) + 1;
    let mut tokens = Vec::new();
    for n in 0..users {
        tokens.push(server.sign_up(&format!("user{n}@bench.example")).await);
    }
    let author = server.sign_up("author@bench.example").await;
    let post = server.create_post(&author, "Watched", "x").await;
    let bound = socket_memory_bound(max_message, max_subscriptions);
    // The sign-ups' password hashes (19 MiB buffers each) ran on blocking
    // threads; the allocator gives their memory back only after those
    // threads exit (10 s idle) and some work follows. Without this wait the
    // baseline would include it and hide part of the sockets' growth.
    tokio::time::sleep(Duration::from_secs(12)).await;
    for _ in 0..200 {
        server.gql(None, "{ __typename }", json!({})).await;
    }
    // Twice: the second round shows whether the first one's memory, kept by
    // the allocator after the close, is reused or lost.
    for round in 1..=2 {
        let before = settle(&server, Duration::from_secs(20)).await;
        let from = loopback(1);
        let mut sockets = Vec::new();
        let refused = loop {
            let Some(token) = tokens.get(sockets.len() / sockets_per_user()) else {
                panic!(
                    "{} sockets opened without a refusal; set WS_MAX_SOCKETS_PER_ADDRESS",
                    sockets.len()
                );
            };
            match Socket::open(&server.ws_url, from, Some(token)).await {
                Ok(mut socket) => {
                    fill(&mut socket, max_message, max_subscriptions, &post).await;
                    sockets.push(socket.reading());
                }
                Err(refused) => break refused,
            }
        };
        assert!(
            matches!(refused, Refused::Status(429)),
            "socket {} refused otherwise: {refused:?}",
            sockets.len() + 1
        );
        let count = sockets.len();
        let held = settle(&server, Duration::from_secs(10)).await;

        // A post whose text, selected twice, makes the largest `next` allowed:
        // 4-byte characters, so few characters make many bytes.
        let chars = (MAX_PAYLOAD_BYTES - 256) / 8;
        server
            .create_post(&author, "Long", &"😀".repeat(chars))
            .await;
        let mut largest = 0;
        for socket in &mut sockets {
            loop {
                let (message, _) = socket.received.recv().await.expect("the socket stays open");
                if message["type"] == "next" && message["id"] == id(0) {
                    let size = message["payload"].to_string().len();
                    assert!(
                        message["payload"]["data"].is_object(),
                        "the long texts arrive: {}",
                        &message["payload"].to_string()[..200.min(size)]
                    );
                    largest = largest.max(size);
                    break;
                }
            }
        }
        let after_event = settle(&server, Duration::from_secs(10)).await;
        for socket in sockets {
            socket.close().await;
        }
        let closed = settle(&server, Duration::from_secs(20)).await;

        let growth = |kib: u64| (kib as f64 - before.rss_kib as f64) / 1024.0;
        println!(
            "socket memory, round {round}: {count} signed-in sockets from one address (socket {} refused with 429), each with a {max_message}-byte message read, {max_subscriptions} subscriptions with {MAX_ID_BYTES}-byte ids filling its {MAX_KEPT_TEXT}-byte text budget, and a {largest}-byte `next` payload written",
            count + 1
        );
        println!(
            "  server RSS: {:.1} MiB before; {:.1} MiB with the subscriptions held ({:+.1}); {:.1} MiB after the largest event ({:+.1}, {:.1} KiB per socket); {:.1} MiB after closing them ({:+.1}); peak so far {:.1} MiB",
            before.rss_mib(),
            held.rss_mib(),
            growth(held.rss_kib),
            after_event.rss_mib(),
            growth(after_event.rss_kib),
            growth(after_event.rss_kib) * 1024.0 / count.max(1) as f64,
            closed.rss_mib(),
            growth(closed.rss_kib),
            closed.hwm_mib(),
        );
        let bound_total = mib(bound * count);
        println!(
            "  documented bound: {:.1} KiB per socket, {bound_total:.1} MiB for {count} sockets: {}",
            bound as f64 / 1024.0,
            if growth(after_event.rss_kib) <= bound_total {
                "within"
            } else {
                "EXCEEDED"
            }
        );
    }
}

/// Opens `count` anonymous sockets subscribed to `document(n)` each, from
/// as few loopback addresses as the per-address limits allow, each read by
/// a task of its own from then on; the sockets and the number of addresses
/// used.
async fn subscribers(
    server: &Server,
    count: usize,
    document: impl Fn(usize) -> String,
) -> (Vec<Reading>, u8) {
    let mut sockets = Vec::with_capacity(count);
    let mut address = 1u8;
    while sockets.len() < count {
        let opened = Socket::open(&server.ws_url, loopback(address), None).await;
        let mut socket = match opened {
            Ok(socket) => socket,
            Err(Refused::Status(429)) => {
                address = address.checked_add(1).expect("enough loopback addresses");
                continue;
            }
            Err(other) => panic!("socket {}: {other:?}", sockets.len()),
        };
        socket
            .subscribe("feed", &document(sockets.len()), json!({}))
            .await;
        let answers = socket.settled().await;
        match answers.first() {
            None => sockets.push(socket.reading()),
            Some(refused) if refused["payload"][0]["extensions"]["code"] == "RATE_LIMITED" => {
                // The address's anonymous subscriptions are all taken.
                socket.close().await;
                address = address.checked_add(1).expect("enough loopback addresses");
            }
            Some(other) => panic!("subscribing: {other}"),
        }
    }
    (sockets, address)
}

/// The statements the server ran from before `action` until `quiet` after it.
async fn statements_during(server: &Server, action: impl Future<Output = ()>) -> f64 {
    let before = server.metric("growth_diary_db_statements_total").await;
    action.await;
    // Let the outbox and any straggling run finish.
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.metric("growth_diary_db_statements_total").await - before
}

/// One scenario: `count` subscribers of `document(n)`, `events` posts.
async fn event_cost(
    server: &Server,
    author: &str,
    label: &str,
    count: usize,
    events: usize,
    document: impl Fn(usize) -> String,
) {
    let opened = Instant::now();
    let (sockets, addresses) = subscribers(server, count, document).await;
    let open_secs = opened.elapsed().as_secs_f64();
    let (arrival_tx, mut arrivals) = mpsc::unbounded_channel();
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut readers = Vec::new();
    for mut socket in sockets {
        let arrival_tx = arrival_tx.clone();
        let mut stopping = stopping.clone();
        readers.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    received = socket.received.recv() => {
                        let Some((message, arrived)) = received else { break };
                        if message["type"] == "next" {
                            let ok = message["payload"]["data"]["feedPostPublished"].is_object();
                            let _ = arrival_tx.send((arrived, ok));
                        }
                    }
                    _ = stopping.wait_for(|stop| *stop) => break,
                }
            }
            socket.close().await;
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut statements = Vec::new();
    let mut delays = Vec::new();
    let mut failed = 0;
    for n in 0..events {
        let counted = statements_during(server, async {
            let sent = Instant::now();
            server
                .create_post(author, &format!("{label} {n}"), "x")
                .await;
            for _ in 0..count {
                let (arrived, ok) = tokio::time::timeout(Duration::from_secs(60), arrivals.recv())
                    .await
                    .expect("every subscriber gets the event")
                    .expect("arrivals");
                failed += usize::from(!ok);
                delays.push(arrived.saturating_duration_since(sent));
            }
        })
        .await;
        statements.push(counted);
    }
    let _ = stop.send(true);
    for reader in readers {
        let _ = reader.await;
    }
    delays.sort();
    statements.sort_by(f64::total_cmp);
    println!(
        "event cost, {label}: {count} anonymous subscribers from {addresses} loopback addresses (opened in {open_secs:.1} s), {events} events: statements per event {:?} (median {}); delivery p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (from sending the mutation); {failed} payloads without the post",
        statements,
        statements[statements.len() / 2],
        ms(percentile(&delays, 0.50)),
        ms(percentile(&delays, 0.99)),
        ms(delays.last().copied().unwrap_or_default()),
    );
    // Give the sockets' places back before the next scenario.
    tokio::time::sleep(Duration::from_secs(2)).await;
}

async fn event_costs(port: usize) {
    let count = setting("LIVE_COSTS_SUBSCRIBERS", 1_000).max(1);
    let events = setting("LIVE_COSTS_EVENTS", 5).max(1);
    let server = Server::start(DATABASE, port, &[]).await;
    let author = server.sign_up("author@bench.example").await;
    let mut alone = Vec::new();
    for n in 0..events {
        alone.push(
            statements_during(&server, async {
                server
                    .create_post(&author, &format!("Alone {n}"), "x")
                    .await;
            })
            .await,
        );
    }
    println!(
        "event cost, no subscriber: statements per event {alone:?} (the mutation and the dispatch)"
    );
    event_cost(
        &server,
        &author,
        "shared (one document)",
        count,
        events,
        |_| DEEP_FEED.to_string(),
    )
    .await;
    event_cost(
        &server,
        &author,
        "unshared (a document each)",
        count,
        events,
        |n| {
            // An operation name of its own: a different text, a run of its own.
            DEEP_FEED.replacen("subscription", &format!("subscription Deep{n}"), 1)
        },
    )
    .await;
}

#[tokio::main]
async fn main() {
    let port = setting("LIVE_COSTS_PORT", 18_100);
    let part = std::env::var("LIVE_COSTS_PART").unwrap_or_else(|_| "all".into());
    if part == "all" || part == "memory" {
        socket_memory(port).await;
    }
    if part == "all" || part == "events" {
        event_costs(port).await;
    }
}
