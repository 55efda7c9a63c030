//! The real binary as a child process: its connection string and the address
//! it chose itself (`LISTEN_ADDR=127.0.0.1:0`), read from its "listening" line.

use std::net::SocketAddr;
use std::time::Duration;

/// How long a spawned server may take to say where it listens.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The address in a log's "listening" line (text or JSON format), if it is there yet.
pub fn listening_addr(log: &str) -> Option<SocketAddr> {
    address_after(log, "listening")
}

/// The `addr` field of the first log line holding `marker`, if it is there yet.
pub fn address_after(log: &str, marker: &str) -> Option<SocketAddr> {
    let line = log.lines().find(|line| line.contains(marker))?;
    let start = line
        .find("addr=")
        .map(|at| at + "addr=".len())
        .or_else(|| line.find("\"addr\":\"").map(|at| at + "\"addr\":\"".len()))?;
    let rest = &line[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == ',')
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Polls `read_log` until it shows the listening address, or panics after [`START_TIMEOUT`].
pub fn wait_for_listening(read_log: impl FnMut() -> String) -> SocketAddr {
    wait_for_address("listening", read_log)
}

/// Polls `read_log` until a line holding `marker` names its address, or
/// panics after [`START_TIMEOUT`].
pub fn wait_for_address(marker: &str, mut read_log: impl FnMut() -> String) -> SocketAddr {
    let deadline = std::time::Instant::now() + START_TIMEOUT;
    loop {
        let log = read_log();
        if let Some(addr) = address_after(&log, marker) {
            return addr;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server never said where it is {marker}:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_listening_line_names_the_address() {
    let text =
        "2026-11-23T10:00:00Z  INFO growth_diary::app: listening addr=127.0.0.1:4242 database=x";
    assert_eq!(
        listening_addr(text),
        Some("127.0.0.1:4242".parse().unwrap())
    );
    let json = r#"{"fields":{"message":"listening","addr":"127.0.0.1:4243","database":"x"}}"#;
    assert_eq!(
        listening_addr(json),
        Some("127.0.0.1:4243".parse().unwrap())
    );
    assert_eq!(listening_addr("starting"), None);
}
