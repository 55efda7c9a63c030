//! Starting the binary: bad settings stop it with one clear line and a non-zero exit.

use std::process::{Command, Output};
use std::time::Duration;

use crate::harness::process::wait_for_listening;

fn run(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_growth-diary"));
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("LISTEN_ADDR")
        .env("DATABASE_CONNECT_TIMEOUT_SECS", "2");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the binary runs")
}

fn assert_one_line_failure(output: &Output, expected: &str) {
    assert!(!output.status.success(), "the process must fail");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "exactly one line on stderr, got: {stderr}");
    assert!(
        lines[0].contains(expected),
        "{:?} should mention {expected:?}",
        lines[0]
    );
}

#[test]
fn a_bad_listen_addr_stops_the_server() {
    let output = run(&[("LISTEN_ADDR", "not-an-address")], &[]);
    assert_one_line_failure(&output, "listen-addr");
}

#[test]
fn a_malformed_database_url_stops_the_server() {
    let output = run(
        &[("DATABASE_URL", "postgres://postgres@127.0.0.1:5432")],
        &[],
    );
    assert_one_line_failure(&output, "no database");
    let output = run(&[("DATABASE_URL", "http://example.com/x")], &[]);
    assert_one_line_failure(&output, "database-url");
}

#[test]
fn an_unreachable_database_stops_the_server() {
    // Port 1 on loopback: nothing listens there.
    let output = run(
        &[
            (
                "DATABASE_URL",
                "postgres://postgres@127.0.0.1:1/growth_diary",
            ),
            ("LISTEN_ADDR", "127.0.0.1:0"),
        ],
        &[],
    );
    assert_one_line_failure(
        &output,
        "cannot connect to the database at 127.0.0.1:1/growth_diary",
    );
}

#[test]
fn a_taken_port_stops_the_server() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = run(&[("LISTEN_ADDR", &addr)], &[]);
    assert_one_line_failure(&output, "cannot listen on");
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    let db = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(crate::harness::TestDb::new());
    let log =
        std::env::temp_dir().join(format!("growth-diary-sigterm-{}.log", uuid::Uuid::now_v7()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_growth-diary"))
        .env("DATABASE_URL", db.connection_string())
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("NO_COLOR", "1")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let addr = wait_for_listening(|| std::fs::read_to_string(&log).unwrap_or_default());
    let _ = std::fs::remove_file(&log);
    // The port opens before migrations run, so wait for /readyz, not for the port.
    let ready = (0..600).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        http_status(addr, "/readyz") == Some(200)
    });
    assert!(ready, "the server becomes ready");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exited = (0..100).find_map(|_| {
        std::thread::sleep(Duration::from_millis(100));
        child.try_wait().unwrap()
    });
    let exit = exited.expect("the server exits after SIGTERM");
    assert!(exit.success(), "a graceful shutdown exits 0, got {exit}");
}

/// The status of a plain HTTP/1.0 GET, if the server answered.
fn http_status(addr: std::net::SocketAddr, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn print_schema_prints_the_sdl() {
    let output = run(&[], &["print-schema"]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        growth_diary::graphql::sdl()
    );
}

#[test]
fn a_rejected_secret_is_not_repeated_on_stderr() {
    let secret = "hunter2-not-shown";
    for (name, value) in [
        (
            "SMTP_URL",
            format!("ftp://mailer:{secret}@mail.example.com"),
        ),
        ("ENCRYPTION_KEY", secret.to_string()),
        ("METRICS_TOKEN", format!("{secret} with spaces")),
        ("DATABASE_URL", format!("postgres://app:{secret}@127.0.0.1")),
    ] {
        let output = run(&[(name, &value)], &[]);
        assert!(!output.status.success(), "{name} must be refused");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains(secret), "{name}'s value leaked: {stderr}");
    }
    let output = run(
        &[],
        &[
            "import-prisma",
            "--from",
            &format!("postgres://old:{secret}@127.0.0.1:5432"),
        ],
    );
    assert!(
        !output.status.success(),
        "a --from without a database is refused"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains(secret), "--from leaked: {stderr}");
}
