//! `GET /metrics`: Prometheus text format, on the main address for a scraper
//! that sends `Authorization: Bearer <METRICS_TOKEN>`, or without a token on
//! the separate `METRICS_ADDR` listener (which serves nothing else). Also the
//! middleware that counts every HTTP response by route and status.

use std::collections::HashMap;
use std::sync::{LazyLock, PoisonError, RwLock};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::http::AppState;
use crate::metrics::scrape;

/// The route label of requests no route matched.
const UNMATCHED: &str = "unmatched";
/// The route label once [`MAX_ROUTES`] distinct routes were seen.
const OTHER_ROUTE: &str = "other";
/// Routes are the router's own patterns, so this is never reached in practice.
const MAX_ROUTES: usize = 64;

/// GET /metrics on the main address: 404 without `METRICS_TOKEN`, 401
/// without the right bearer token.
pub async fn guarded(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = &state.services.config.metrics.metrics_token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !bearer_matches(&headers, token.expose_secret()) {
        return (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"metrics\""),
            )],
            "a bearer token is required",
        )
            .into_response();
    }
    render(&state).await
}

/// The router of the `METRICS_ADDR` listener: `GET /metrics`, no token.
pub fn router(state: AppState) -> Router {
    Router::new().route("/metrics", get(open)).with_state(state)
}

async fn open(State(state): State<AppState>) -> Response {
    render(&state).await
}

async fn render(state: &AppState) -> Response {
    let text = scrape::render(&state.services.pool, &state.services.statements).await;
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(scrape::CONTENT_TYPE),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        text,
    )
        .into_response()
}

/// Compares the request's bearer token with `expected` in constant time
/// (over their digests, so the length does not show either).
fn bearer_matches(headers: &HeaderMap, expected: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
    else {
        return false;
    };
    let given = Sha256::digest(given.as_bytes());
    let expected = Sha256::digest(expected.as_bytes());
    given.ct_eq(&expected).into()
}

/// Middleware: counts every response by its matched route and status.
pub async fn count_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, |path| route_label(path.as_str()));
    let response = next.run(request).await;
    crate::metrics::http_request(route, response.status());
    response
}

static ROUTES: LazyLock<RwLock<HashMap<Box<str>, &'static str>>> = LazyLock::new(RwLock::default);

/// A matched path as a `&'static str` label, made once per route.
fn route_label(path: &str) -> &'static str {
    if let Some(label) = ROUTES
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(path)
    {
        return label;
    }
    let mut routes = ROUTES.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(label) = routes.get(path) {
        return label;
    }
    if routes.len() >= MAX_ROUTES {
        return OTHER_ROUTE;
    }
    // Routes are the router's fixed patterns: a handful of leaked strings.
    let label: &'static str = Box::leak(path.to_owned().into_boxed_str());
    routes.insert(path.into(), label);
    label
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_right_bearer_token_matches() {
        let mut headers = HeaderMap::new();
        assert!(!bearer_matches(&headers, "s3cret-token"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret-token"),
        );
        assert!(bearer_matches(&headers, "s3cret-token"));
        assert!(!bearer_matches(&headers, "s3cret-tokem"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic s3cret-token"),
        );
        assert!(!bearer_matches(&headers, "s3cret-token"));
    }

    #[test]
    fn routes_are_labelled_once() {
        let first = route_label("/auth/{provider}/login");
        let again = route_label("/auth/{provider}/login");
        assert!(std::ptr::eq(first, again));
    }
}
