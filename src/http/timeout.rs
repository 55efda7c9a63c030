//! Time limits on requests: a request body that stalls is answered 408; a
//! request that takes longer than `REQUEST_TIMEOUT_SECS` (plus the own limit
//! of a story generation it runs) is stopped and answered 503.

use std::error::Error;
use std::time::Duration;

use axum::extract::rejection::BytesRejection;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tower_http::timeout::TimeoutError;

use crate::deadline::{Deadline, Elapsed};
use crate::error::codes;

/// Middleware: stops the request at its deadline (see [`crate::deadline`]).
pub async fn limit_request_time(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match Deadline::after(limit).run(next.run(request)).await {
        Ok(response) => response,
        Err(Elapsed) => {
            tracing::warn!(
                limit_secs = limit.as_secs(),
                "request stopped at its time limit"
            );
            let mut response = error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "the request took too long and was stopped; try again later",
                codes::INTERNAL_SERVER_ERROR,
            );
            // The request may be half read: do not reuse the connection.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

/// The status and message for a request body that could not be read: 408
/// when it stalled past `BODY_READ_TIMEOUT_SECS`, 413 when it is too large.
pub fn body_failure(rejection: &BytesRejection) -> (StatusCode, String) {
    let mut source: Option<&(dyn Error + 'static)> = Some(rejection);
    while let Some(err) = source {
        if err.is::<TimeoutError>() {
            return (
                StatusCode::REQUEST_TIMEOUT,
                "the request body was not sent in time".into(),
            );
        }
        source = err.source();
    }
    (rejection.status(), rejection.body_text())
}

/// A GraphQL-shaped error body with a contract code.
fn error_response(status: StatusCode, message: &str, code: &str) -> Response {
    let mut extensions = json!({ "code": code });
    if let Some(id) = crate::http::request_id::current() {
        extensions["requestId"] = id.into();
    }
    let body = json!({ "errors": [{ "message": message, "extensions": extensions }] });
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}
