//! APQ memory benchmark: does the automatic-persisted-query cache stay
//! within its setting, counted as the process's memory rather than as the
//! cache's own arithmetic?
//!
//! For each cache size in `APQ_BENCH_SETTINGS`, starts the release server
//! (`target/release/growth-diary`, a process of its own, so its RSS is only
//! the server's) on a fresh database, warms it up with ordinary requests,
//! then sends `APQ_BENCH_REGISTRATIONS` distinct APQ registrations (the hash
//! in `extensions.persistedQuery` with the query) of small valid documents
//! (`{r123:__typename}`, 16 to 20 bytes), from `APQ_BENCH_CONCURRENCY`
//! requests at a time. It reports the server's RSS (VmRSS) and peak (VmHWM)
//! before and after, the growth against the setting, and whether the
//! newest registration is still known and the oldest evicted. A setting of
//! 0 (no cache) is the control: what the same requests cost without it.
//!
//! Run (one command; builds the server, then the bench):
//! `cargo build --release && cargo bench --bench apq_memory`
//! Settings (env): `APQ_BENCH_SETTINGS` (`8388608,0`: the default cache
//! size, then none), `APQ_BENCH_REGISTRATIONS` (100000),
//! `APQ_BENCH_CONCURRENCY` (16), `APQ_BENCH_PORT` (18090); `BENCH_SERVER`
//! another server binary. Database: `growth_diary_apq_bench` (dropped and
//! made again at each start).

mod support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use support::{Memory, Server, setting, settle};

const DATABASE: &str = "growth_diary_apq_bench";
/// The goal: RSS growth at most twice the setting.
const GOAL_FACTOR: f64 = 2.0;

/// A registration of `document`: its text with its SHA-256 (APQ version 1).
fn registration(document: &str) -> Value {
    let hash: String = Sha256::digest(document.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    json!({
        "query": document,
        "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } },
    })
}

/// The same hash without the text: known, or PERSISTED_QUERY_NOT_FOUND.
fn lookup(document: &str) -> Value {
    let mut body = registration(document);
    body["query"] = Value::Null;
    body
}

/// Sends `bodies` to the server, `concurrency` at a time; how many did not
/// answer `data`.
async fn send_all(
    server: &Server,
    bodies: impl Iterator<Item = Value>,
    concurrency: usize,
) -> usize {
    let url = format!("{}/graphql", server.base);
    futures_util::stream::iter(bodies)
        .map(|body| {
            let request = server.http.post(&url).json(&body);
            async move {
                let answer: Option<Value> = match request.send().await {
                    Ok(response) => response.json().await.ok(),
                    Err(_) => None,
                };
                answer.is_some_and(|answer| answer["data"].is_object())
            }
        })
        .buffer_unordered(concurrency)
        .filter(|ok| std::future::ready(!ok))
        .count()
        .await
}

async fn known(server: &Server, document: &str) -> bool {
    let answer: Value = server
        .http
        .post(format!("{}/graphql", server.base))
        .json(&lookup(document))
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .expect("JSON");
    answer["data"].is_object()
}

fn document(n: usize) -> String {
    format!("{{r{n}:__typename}}")
}

async fn run(setting_bytes: usize, registrations: usize, concurrency: usize, port: usize) {
    let server = Server::start(
        DATABASE,
        port,
        &[("APQ_CACHE_BYTES", setting_bytes.to_string())],
    )
    .await;
    // Warm-up: the HTTP connections, the pool's, the allocator's caches.
    let warm = (0..5_000).map(|_| json!({ "query": "{ __typename }" }));
    let failed = send_all(&server, warm, concurrency).await;
    assert_eq!(failed, 0, "warm-up requests failed");
    let before = settle(&server, Duration::from_secs(10)).await;

    let started = Instant::now();
    let bodies = (0..registrations).map(|n| registration(&document(n)));
    let failed = send_all(&server, bodies, concurrency).await;
    let took = started.elapsed();
    let at_end = server.memory();
    let after = settle(&server, Duration::from_secs(10)).await;
    let newest = known(&server, &document(registrations - 1)).await;
    let oldest = known(&server, &document(0)).await;
    let text: usize = (0..registrations).map(|n| document(n).len()).sum();

    let growth = |to: Memory| to.rss_kib.saturating_sub(before.rss_kib) as f64 / 1024.0;
    let setting_mib = setting_bytes as f64 / (1024.0 * 1024.0);
    println!(
        "APQ_CACHE_BYTES={setting_bytes} ({setting_mib:.1} MiB): {registrations} registrations ({:.1} MiB of document text) in {:.1} s, {failed} without data",
        text as f64 / (1024.0 * 1024.0),
        took.as_secs_f64(),
    );
    println!(
        "  server RSS {:.1} MiB before, {:.1} MiB right after, {:.1} MiB settled; peak (VmHWM) {:.1} → {:.1} MiB",
        before.rss_mib(),
        at_end.rss_mib(),
        after.rss_mib(),
        before.hwm_mib(),
        after.hwm_mib(),
    );
    let settled_growth = growth(after);
    // A new peak during the registrations, above the RSS before; if the
    // start-up's peak stays higher, the largest RSS seen stands for it.
    let peak_growth = if after.hwm_kib > before.hwm_kib {
        after.hwm_kib - before.rss_kib
    } else {
        at_end
            .rss_kib
            .max(after.rss_kib)
            .saturating_sub(before.rss_kib)
    };
    let peak_growth = peak_growth as f64 / 1024.0;
    if setting_bytes > 0 {
        println!(
            "  growth +{settled_growth:.1} MiB = {:.2}× the setting (peak +{peak_growth:.1} MiB = {:.2}×); goal ≤ {GOAL_FACTOR}×: {}",
            settled_growth / setting_mib,
            peak_growth / setting_mib,
            if settled_growth <= GOAL_FACTOR * setting_mib {
                "met"
            } else {
                "NOT met"
            },
        );
    } else {
        println!(
            "  growth +{settled_growth:.1} MiB (peak +{peak_growth:.1} MiB) with no cache: the requests' own cost"
        );
    }
    println!("  newest registration known: {newest}; oldest (first registered) known: {oldest}");
}

#[tokio::main]
async fn main() {
    let registrations = setting("APQ_BENCH_REGISTRATIONS", 100_000).max(1);
    let concurrency = setting("APQ_BENCH_CONCURRENCY", 16).max(1);
    let port = setting("APQ_BENCH_PORT", 18_090);
    let settings = std::env::var("APQ_BENCH_SETTINGS").unwrap_or_else(|_| "8388608,0".into());
    for value in settings.split(',') {
        let bytes: usize = value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("APQ_BENCH_SETTINGS: not a number: {value}"));
        run(bytes, registrations, concurrency, port).await;
    }
}
