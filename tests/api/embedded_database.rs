//! `DATABASE_URL=embedded`: the binary creates a private PostgreSQL cluster in
//! `DATA_DIR` from the system's programs, serves on it, stops it on SIGTERM,
//! and finds its data again at the next start, after a crash too.

use std::fs::{self, File};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::process::wait_for_listening;

const START_DEADLINE: Duration = Duration::from_secs(90);
const STOP_DEADLINE: Duration = Duration::from_secs(60);
const PASSWORD: &str = "correct horse battery";

/// A fresh directory under the system's temp dir (reachable by the
/// `postgres` account when the tests run as root), removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir =
            std::env::temp_dir().join(format!("gd-embedded-{}", uuid::Uuid::now_v7().simple()));
        fs::create_dir_all(&dir).expect("create a scratch directory");
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // A failed test may leave its cluster running: end it before removing its files.
        let data_dir = self.0.join("data");
        if let Some(pid) = postmaster_pid(&data_dir) {
            let _ = Command::new("kill")
                .args(["-QUIT", &pid.to_string()])
                .status();
            wait_until(STOP_DEADLINE, || !alive(pid));
        }
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The binary serving on an embedded database in `scratch/data`.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    fn start(scratch: &Scratch, run: u32) -> Self {
        let log = scratch.0.join(format!("server-{run}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_growth-diary"))
            .env("DATABASE_URL", "embedded")
            .env("DATA_DIR", scratch.0.join("data"))
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("NO_COLOR", "1")
            .env_remove("DATABASE_DIRECT_URL")
            .env_remove("POSTGRES_BIN_DIR")
            .stdout(Stdio::null())
            .stderr(File::create(&log).expect("create the server's log"))
            .spawn()
            .expect("the binary starts");
        let addr = wait_for_listening(|| fs::read_to_string(&log).unwrap_or_default());
        let mut server = Self { child, addr, log };
        let started = Instant::now();
        while !server.ready() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the server exited with {status}:\n{}", server.log());
            }
            assert!(
                started.elapsed() < START_DEADLINE,
                "the server was not ready within {START_DEADLINE:?}:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn ready(&self) -> bool {
        http_status(self.addr, "/readyz") == Some(200)
    }

    async fn gql(&self, query: &str, variables: Value) -> Value {
        reqwest::Client::new()
            .post(format!("http://{}/graphql", self.addr))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("the server answers")
            .json()
            .await
            .expect("a JSON body")
    }

    async fn sign_up(&self, email: &str) {
        let body = self
            .gql(
                "mutation($input: SignUpInput!) { signUp(input: $input) { token } }",
                json!({ "input": { "email": email, "password": PASSWORD, "name": "Ada" } }),
            )
            .await;
        assert!(
            body["data"]["signUp"]["token"].is_string(),
            "sign-up: {body}"
        );
    }

    async fn signs_in(&self, email: &str) -> bool {
        let body = self
            .gql(
                "mutation($email: String!, $password: String!) { signIn(email: $email, password: $password) { token } }",
                json!({ "email": email, "password": PASSWORD }),
            )
            .await;
        body["data"]["signIn"]["token"].is_string()
    }

    /// SIGTERM, then the exit status: a graceful stop exits 0.
    fn terminate(mut self) -> String {
        signal("-TERM", self.child.id());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("the child can be waited for") {
                assert!(
                    status.success(),
                    "a graceful stop exits 0, got {status}:\n{}",
                    self.log()
                );
                return self.log();
            }
            assert!(
                started.elapsed() < STOP_DEADLINE,
                "the server did not stop:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: the server gets no chance to stop its cluster.
    fn crash(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status of a plain HTTP/1.0 GET, if the server answered.
fn http_status(addr: SocketAddr, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

fn signal(which: &str, pid: u32) {
    let status = Command::new("kill")
        .args([which, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {which} {pid}");
}

fn wait_until(deadline: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// The PID in the cluster's lock file, while there is one.
fn postmaster_pid(data_dir: &Path) -> Option<u32> {
    fs::read_to_string(data_dir.join("postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Processes whose command line names `data_dir` (the postmaster runs as `postgres -D <dir>`),
/// or whose parent is `parent` (its backends and background workers).
fn cluster_processes(data_dir: &Path, parent: Option<u32>) -> Vec<u32> {
    let needle = data_dir.to_string_lossy().into_owned();
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let names_dir = String::from_utf8_lossy(&cmdline).contains(&needle);
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // The parent PID is the second field after the parenthesised name.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
            names_dir || (parent.is_some() && ppid == parent)
        })
        .collect()
}

/// Makes the crashed cluster's lock files (`postmaster.pid` and the
/// socket's) name a PID nobody has. The killed postmaster was orphaned to
/// PID 1, and where PID 1 reaps no children (this sandbox's init does not) it
/// stays a zombie whose PID still answers `kill(pid, 0)`; after a real crash
/// and restart that PID is gone, which is what PostgreSQL checks before it
/// takes over a stale lock file.
fn forget_pid(data_dir: &Path, crashed: u32) {
    let max: u32 = fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|max| max.trim().parse().ok())
        .unwrap_or(32_768);
    let unused = (2..max).rev().find(|pid| !alive(*pid)).expect("a free PID");
    for name in ["postmaster.pid", ".s.PGSQL.5432.lock"] {
        let path = data_dir.join(name);
        let text = fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("the crash left {name} behind: {err}"));
        assert_eq!(
            text.lines().next(),
            Some(crashed.to_string().as_str()),
            "{name}"
        );
        let rest = text.split_once('\n').map_or("", |(_, rest)| rest);
        fs::write(&path, format!("{unused}\n{rest}")).expect("rewrite the lock file");
    }
}

fn assert_cluster_stopped(data_dir: &Path, log: &str) {
    assert!(
        !data_dir.join("postmaster.pid").exists(),
        "the cluster's lock file is gone after a clean stop:\n{log}"
    );
    let left = cluster_processes(data_dir, None);
    assert!(
        left.is_empty(),
        "postgres processes left for {}: {left:?}",
        data_dir.display()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_embedded_database_is_created_stopped_and_found_again() {
    let scratch = Scratch::new();
    let data_dir = scratch.0.join("data");

    let first = Server::start(&scratch, 1);
    assert!(
        data_dir.join("PG_VERSION").exists(),
        "initdb made a cluster"
    );
    first.sign_up("embedded@example.com").await;
    let log = first.terminate();
    assert!(log.contains("stopped the embedded PostgreSQL"), "{log}");
    assert_cluster_stopped(&data_dir, &log);

    // Its data survives the restart.
    let second = Server::start(&scratch, 2);
    assert!(
        second.signs_in("embedded@example.com").await,
        "the account is still there"
    );
    assert!(!second.signs_in("nobody@example.com").await);

    // The server dies: its cluster keeps running, and the next start uses it.
    second.crash();
    let postmaster = postmaster_pid(&data_dir).expect("the cluster outlived the server");
    let third = Server::start(&scratch, 3);
    assert!(third.log().contains("already running"), "{}", third.log());
    assert!(third.signs_in("embedded@example.com").await);

    // Both die: postmaster.pid is left stale, and the next start recovers.
    third.crash();
    signal("-KILL", postmaster);
    assert!(
        wait_until(STOP_DEADLINE, || cluster_processes(
            &data_dir,
            Some(postmaster)
        )
        .is_empty()),
        "the crashed cluster's processes end"
    );
    forget_pid(&data_dir, postmaster);
    let fourth = Server::start(&scratch, 4);
    assert!(
        fourth.signs_in("embedded@example.com").await,
        "recovered after the crash"
    );
    let log = fourth.terminate();
    assert_cluster_stopped(&data_dir, &log);
}

#[test]
fn without_postgresql_programs_the_start_stops_with_one_line() {
    let scratch = Scratch::new();
    let empty = scratch.0.join("no-programs");
    fs::create_dir_all(&empty).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_growth-diary"))
        .env("DATABASE_URL", "embedded")
        .env("DATA_DIR", scratch.0.join("data"))
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("POSTGRES_BIN_DIR", &empty)
        .env("PATH", &empty)
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "exactly one line on stderr, got: {stderr}");
    assert!(lines[0].contains("initdb, pg_ctl"), "{}", lines[0]);
    assert!(lines[0].contains("apt install postgresql"), "{}", lines[0]);
    assert!(lines[0].contains("DATABASE_URL"), "{}", lines[0]);
}
