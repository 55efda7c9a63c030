//! The answer while the database cannot be reached: HTTP 503 with
//! `Retry-After`, so clients, load balancers and GraphQL retry links try
//! again instead of giving up, and the refusal is counted.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::error::RETRY_AFTER_SECS;

/// Turns `response` into a retryable 503 and counts it.
pub fn mark(response: &mut Response) {
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    crate::metrics::database_unavailable();
}
