//! The `growth-diary` binary: parses the command line and runs the command.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    growth_diary::cli::run().await
}
