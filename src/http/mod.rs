//! HTTP routes and the layers around them.

pub mod graphql;
pub mod health;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::app::AppState;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let body_limit = usize::try_from(state.config.max_body_bytes).unwrap_or(usize::MAX);
    Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::custom(graphql::panic_response))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<_>| {
                    tracing::info_span!("request", method = %request.method(), path = request.uri().path())
                })
                .on_request(())
                .on_response(
                    DefaultOnResponse::new()
                        .level(Level::INFO)
                        .latency_unit(tower_http::LatencyUnit::Micros),
                ),
        )
        .with_state(state)
}

/// How long a graceful shutdown waits for requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
