//! What the benchmarks share: the release server on a fresh database, its
//! memory and CPU from /proc, GraphQL over HTTP, its metrics, and
//! `graphql-transport-ws` sockets (optionally from a chosen loopback address).
//!
//! Each bench binary includes this module with `mod support;`; not every
//! binary uses every helper.
#![allow(dead_code)]

pub mod ws;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The password of every bench user.
pub const PASSWORD: &str = "correct horse battery";

/// `name` from the environment as a number, else `default`.
pub fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// The release server, running until dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:{port}`.
    pub base: String,
    /// `ws://127.0.0.1:{port}/graphql`.
    pub ws_url: String,
    pub http: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The token `/metrics` is read with.
const METRICS_TOKEN: &str = "bench-metrics-token-0123456789";

impl Server {
    /// Starts `target/release/growth-diary` (or `$BENCH_SERVER`) on a fresh
    /// database named `database`, listening on 127.0.0.1:`port`, with `env`
    /// added to its environment; returns once it is ready.
    pub async fn start(database: &str, port: usize, env: &[(&str, String)]) -> Self {
        let dropped = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-qc"])
            .arg(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            .arg("postgres")
            .status()
            .expect("psql runs");
        assert!(dropped.success(), "cannot drop {database}");
        let target = std::env::var("CARGO_TARGET_DIR")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target").to_string());
        let binary = std::env::var("BENCH_SERVER")
            .unwrap_or_else(|_| format!("{target}/release/growth-diary"));
        let mut command = Command::new(&binary);
        command
            .env(
                "DATABASE_URL",
                format!("postgres://postgres@127.0.0.1:5432/{database}"),
            )
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .env("METRICS_TOKEN", METRICS_TOKEN)
            .stdout(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command.spawn().unwrap_or_else(|err| {
            panic!(
                "cannot start {binary}: {err} (cargo build --release first, or set BENCH_SERVER)"
            )
        });
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            ws_url: format!("ws://127.0.0.1:{port}/graphql"),
            http: reqwest::Client::new(),
        };
        let started = Instant::now();
        while !server
            .http
            .get(format!("{}/readyz", server.base))
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
        server
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's memory now.
    pub fn memory(&self) -> Memory {
        Memory::of(self.pid())
    }

    /// The server's CPU time so far.
    pub fn cpu_time(&self) -> Duration {
        cpu_time(self.pid())
    }

    /// A GraphQL request over HTTP, as `token`'s user when given.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .http
            .post(format!("{}/graphql", self.base))
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

    /// Signs up `email` (password [`PASSWORD`]) and returns the session token.
    pub async fn sign_up(&self, email: &str) -> String {
        let body = self
            .gql(
                None,
                "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
                json!({ "i": { "email": email, "password": PASSWORD, "name": "Bench" } }),
            )
            .await;
        body["data"]["signUp"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("signed up: {body}"))
            .to_string()
    }

    /// Publishes a post as `token`'s user; its id.
    pub async fn create_post(&self, token: &str, title: &str, content: &str) -> String {
        let body = self
            .gql(
                Some(token),
                "mutation($t: String!, $c: String!) { createPost(input: { title: $t, content: $c, status: PUBLISHED }) { id } }",
                json!({ "t": title, "c": content }),
            )
            .await;
        body["data"]["createPost"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("a post: {body}"))
            .to_string()
    }

    /// The value of the Prometheus series `name` (summed over its labels).
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .expect("the server answers")
            .text()
            .await
            .expect("text");
        text.lines()
            .filter(|line| {
                line.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with([' ', '{']))
            })
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

/// A process's resident memory, from /proc: now and at its highest.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

impl Memory {
    pub fn of(pid: u32) -> Self {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kib| kib.parse().ok())
                .unwrap_or(0)
        };
        Self {
            rss_kib: field("VmRSS:"),
            hwm_kib: field("VmHWM:"),
        }
    }

    pub fn rss_mib(&self) -> f64 {
        self.rss_kib as f64 / 1024.0
    }

    pub fn hwm_mib(&self) -> f64 {
        self.hwm_kib as f64 / 1024.0
    }
}

/// CPU time the process has used (user and system), from /proc.
pub fn cpu_time(pid: u32) -> Duration {
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

/// The `p` quantile (0 to 1) of `sorted`, which must not be empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Milliseconds, for printing.
pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// Waits until the server's RSS has not moved by more than 64 KiB for
/// three seconds in a row (mimalloc returns freed pages after a delay), at
/// most `limit`.
pub async fn settle(server: &Server, limit: Duration) -> Memory {
    let started = Instant::now();
    let mut last = server.memory();
    let mut still = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = server.memory();
        still = if now.rss_kib.abs_diff(last.rss_kib) <= 64 {
            still + 1
        } else {
            0
        };
        if still >= 3 || started.elapsed() > limit {
            return now;
        }
        last = now;
    }
}
