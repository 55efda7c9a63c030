//! Outside programs that tests run to the end against a server (the
//! graphql-http audit, the schemathesis fuzzer), pinned in `.ci/` and installed
//! by `.ci/install-tools`. A missing tool fails the test; it never skips it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `.ci/` of this checkout.
pub fn ci_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci")
}

/// Panics with the install hint when `path` is missing.
pub fn require(path: &Path, what: &str) {
    assert!(
        path.exists(),
        "{what} is missing ({}): run .ci/install-tools (the README's test command does)",
        path.display()
    );
}

/// Runs `command` to its end on the blocking pool (so the server under test
/// keeps its runtime) and returns its output.
pub async fn run(mut command: Command) -> Output {
    let shown = format!("{command:?}");
    tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the tool's thread finishes")
        .unwrap_or_else(|err| panic!("cannot run {shown}: {err}"))
}

/// Stdout and stderr of a finished tool, for assertion messages.
pub fn transcript(output: &Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Waits, on the blocking pool, for a spawned tool to finish (its stdout
/// already taken) and returns what is left of its output.
pub async fn run_to_end(child: std::process::Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("the tool's thread finishes")
        .unwrap_or_else(|err| panic!("cannot wait for the tool: {err}"))
}
