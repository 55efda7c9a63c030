//! The `growth-diary` binary: parses the command line and runs the command.

use std::process::ExitCode;

/// A feed page makes and frees thousands of small values (field results,
/// strings, rows); with glibc's allocator that was about 30% of the server's
/// CPU under load (malloc, free and their consolidation in `perf`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    growth_diary::cli::run().await
}
