//! Logging: human-readable lines by default, JSON on request, filtered by
//! `RUST_LOG`, with the libraries that log what passes over the wire held at
//! `info` whatever `RUST_LOG` says.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// Libraries whose debug and trace output shows what crosses a socket or
/// a driver: WebSocket frames (`connection_init` with its bearer token),
/// HTTP and TLS traffic, SMTP commands (`AUTH`, the message with its reset
/// link), SQL with its parameters, cookie jars. None of it is ever logged
/// below `info`.
const WIRE_LEVEL_LIBRARIES: &[&str] = &[
    "tungstenite",
    "tokio_tungstenite",
    "hyper",
    "hyper_util",
    "h2",
    "h3",
    "axum",
    "rustls",
    "tokio_rustls",
    "webpki",
    "reqwest",
    "oauth2",
    "lettre",
    "tokio_postgres",
    "postgres_protocol",
    "tokio_postgres_rustls",
    "diesel",
    "diesel_async",
    "deadpool",
    "cookie_store",
];

/// The most any [`WIRE_LEVEL_LIBRARIES`] entry may log.
const WIRE_LEVEL_CAP: LevelFilter = LevelFilter::INFO;

/// Installs the global subscriber. Safe to call more than once (later calls are ignored).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info"));
    let caps = wire_caps(filter.max_level_hint().unwrap_or(LevelFilter::TRACE));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second filter, not directives added to RUST_LOG's: a more specific
    // directive there (`tungstenite::protocol=trace`) would win over ours.
    // An event is logged only when both let it through.
    let _ = match format {
        LogFormat::Text => builder.finish().with(caps).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .finish()
            .with(caps)
            .try_init(),
    };
}

/// Everything up to `most` (what `RUST_LOG` enables at most; the filter's
/// hint to the `log` bridge stays as low as RUST_LOG's) passes, except the
/// wire-level libraries' output below their cap.
fn wire_caps(most: LevelFilter) -> Targets {
    Targets::new().with_default(most).with_targets(
        WIRE_LEVEL_LIBRARIES
            .iter()
            .map(|library| (*library, WIRE_LEVEL_CAP.min(most))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn wire_level_libraries_are_capped_at_info_and_the_rest_passes() {
        let caps = wire_caps(LevelFilter::TRACE);
        for target in [
            "tungstenite::protocol",
            "tokio_tungstenite",
            "hyper::proto::h1::io",
            "hyper_util::client",
            "rustls::conn",
            "lettre::transport::smtp::client::async_connection",
            "tokio_postgres::prepare",
        ] {
            assert!(!caps.would_enable(target, &Level::DEBUG), "{target}");
            assert!(!caps.would_enable(target, &Level::TRACE), "{target}");
            assert!(caps.would_enable(target, &Level::INFO), "{target}");
            assert!(caps.would_enable(target, &Level::WARN), "{target}");
        }
        for target in [
            "growth_diary::sql",
            "growth_diary::http",
            "tower_http::trace",
        ] {
            assert!(caps.would_enable(target, &Level::TRACE), "{target}");
        }
        let quiet = wire_caps(LevelFilter::WARN);
        assert!(!quiet.would_enable("growth_diary::http", &Level::INFO));
        assert!(quiet.would_enable("growth_diary::http", &Level::WARN));
    }
}
