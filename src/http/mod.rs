//! HTTP routes and the layers around them.

pub mod auth;
pub mod graphiql;
pub mod graphql;
pub mod graphql_request;
pub mod graphql_response;
pub mod health;
pub mod metrics;
pub mod oauth;
pub mod pages;
pub mod request_id;
pub mod server;
pub mod timeout;
pub mod unavailable;
pub mod ws;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use std::sync::Arc;

use crate::graphql::AppSchema;
use crate::oauth::flow::OAuthService;
use crate::services::Services;

/// What every request handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The services, also in the schema's data.
    pub services: Services,
    /// The GraphQL schema.
    pub schema: AppSchema,
    /// OAuth sign-in providers.
    pub oauth: Arc<OAuthService>,
    /// Open WebSockets (subscriptions).
    pub ws: ws::WsState,
    /// Trusted documents and persisted queries.
    pub documents: Arc<crate::documents::DocumentStore>,
}

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let body_limit = usize::try_from(state.services.config.max_body_bytes).unwrap_or(usize::MAX);
    let limits = state.services.config.http_limits.clone();
    Router::new()
        .route("/graphql", get(ws::get).post(graphql::post))
        .route("/graphiql/{*asset}", get(graphiql::asset))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::guarded))
        .route(
            "/verify-email",
            get(pages::verify_email_form).post(pages::verify_email_submit),
        )
        .route("/reset-password", get(pages::reset_form).post(pages::reset_submit))
        .route("/auth/{provider}/login", get(oauth::login))
        .route("/auth/{provider}/callback", get(oauth::callback))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(RequestBodyTimeoutLayer::new(limits.body_read_timeout()))
        .layer(middleware::from_fn_with_state(
            limits.request_timeout(),
            timeout::limit_request_time,
        ))
        .layer(cors(&state.services.config.allowed_origins()))
        .layer(CatchPanicLayer::custom(graphql::panic_response))
        .layer(middleware::from_fn(request_id::scope))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<_>| {
                    tracing::info_span!("request", method = %request.method(), path = request.uri().path(), request_id = %request_id::of(request))
                })
                .on_request(())
                .on_response(
                    DefaultOnResponse::new()
                        .level(Level::INFO)
                        .latency_unit(tower_http::LatencyUnit::Micros),
                ),
        )
        .layer(middleware::from_fn(metrics::count_requests))
        // Outermost: every request has a usable id before anything logs.
        .layer(PropagateRequestIdLayer::new(request_id::HEADER))
        .layer(SetRequestIdLayer::new(
            request_id::HEADER,
            request_id::MakeUuidV7,
        ))
        .layer(tower::util::MapRequestLayer::new(request_id::drop_unusable))
        .with_state(state)
}

/// Cross-origin browsers may call the API, with credentials, only from `origins`.
fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    let mut allowed_headers = vec![
        header::CONTENT_TYPE,
        header::AUTHORIZATION,
        header::ACCEPT,
        request_id::HEADER,
    ];
    allowed_headers.extend(
        graphql::PREFLIGHT_HEADERS
            .iter()
            .map(|name| HeaderName::from_static(name)),
    );
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers(allowed_headers)
        // An SPA can read the id of a failed request to show or report it.
        .expose_headers([request_id::HEADER])
        .max_age(Duration::from_secs(3600))
}

/// How long a graceful shutdown waits for requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
