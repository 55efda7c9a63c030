//! Request ids: every request carries one in `x-request-id`, the client's
//! when it is a short printable token, else a fresh UUID v7. It is a field
//! of the request's log span (so every log line of the request shows it),
//! it goes back in the response's `x-request-id`, and every GraphQL error
//! of the response carries it in `extensions.requestId`, so a user's report
//! can be found in the logs.
//!
//! tower-http's `SetRequestIdLayer` keeps a client's id whatever it is, so
//! [`drop_unusable`] first removes one that could break a log line or a
//! header (too long, or outside `[A-Za-z0-9._-]`).

use async_graphql::{ErrorExtensionValues, ServerError};
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::{MakeRequestId, RequestId};
use uuid::Uuid;

/// The header that carries the id.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest id taken from a client.
pub const MAX_LEN: usize = 64;

tokio::task_local! {
    static CURRENT: HeaderValue;
}

/// Makes a UUID v7 (time-ordered, so ids sort like the log) for a request without one.
#[derive(Debug, Clone, Copy, Default)]
pub struct MakeUuidV7;

impl MakeRequestId for MakeUuidV7 {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let mut buffer = Uuid::encode_buffer();
        let id = Uuid::now_v7().hyphenated().encode_lower(&mut buffer);
        HeaderValue::from_str(id).ok().map(RequestId::new)
    }
}

/// True for an id worth keeping: 1 to [`MAX_LEN`] of `[A-Za-z0-9._-]`.
pub fn is_usable(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Removes the client's `x-request-id` when it is not usable (or is sent
/// twice), so that a fresh one is made.
pub fn drop_unusable(mut request: Request) -> Request {
    let headers = request.headers_mut();
    let mut values = headers.get_all(&HEADER).iter();
    let keep = match (values.next(), values.next()) {
        (Some(only), None) => is_usable(only.as_bytes()),
        (None, _) => true,
        (Some(_), Some(_)) => false,
    };
    if !keep {
        headers.remove(&HEADER);
    }
    request
}

/// The id of `request` (set by then), for its log span.
pub fn of<B>(request: &axum::http::Request<B>) -> &str {
    request
        .headers()
        .get(&HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

/// Middleware: makes the request's id known to the code that writes its
/// GraphQL errors ([`stamp`]) while the request is served.
pub async fn scope(request: Request, next: Next) -> Response {
    match request.headers().get(&HEADER).cloned() {
        Some(id) => CURRENT.scope(id, next.run(request)).await,
        None => next.run(request).await,
    }
}

/// The id of the request being served, if any.
pub fn current() -> Option<String> {
    CURRENT
        .try_with(|id| id.to_str().ok().map(str::to_owned))
        .ok()
        .flatten()
}

/// Writes the current request id into `error`'s `extensions.requestId`.
pub fn stamp(error: &mut ServerError) {
    if let Some(id) = current() {
        error
            .extensions
            .get_or_insert_with(ErrorExtensionValues::default)
            .set("requestId", id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_printable_ids_are_kept() {
        assert!(is_usable(b"abc-123_x.y"));
        assert!(is_usable("a".repeat(MAX_LEN).as_bytes()));
        assert!(!is_usable("a".repeat(MAX_LEN + 1).as_bytes()));
        assert!(!is_usable(b""));
        assert!(!is_usable(b"has space"));
        assert!(!is_usable(b"new\nline"));
        assert!(!is_usable("caf\u{e9}".as_bytes()));
    }

    #[test]
    fn unusable_or_repeated_ids_are_dropped() {
        let request = |ids: &[&str]| {
            let mut request = Request::new(axum::body::Body::empty());
            for id in ids {
                request
                    .headers_mut()
                    .append(&HEADER, HeaderValue::from_str(id).unwrap());
            }
            drop_unusable(request)
                .headers()
                .get_all(&HEADER)
                .iter()
                .count()
        };
        assert_eq!(request(&["client-id-1"]), 1);
        assert_eq!(request(&["bad id"]), 0);
        assert_eq!(request(&["a", "b"]), 0);
        assert_eq!(request(&[]), 0);
    }

    #[test]
    fn made_ids_are_uuid_v7() {
        let request = axum::http::Request::new(());
        let id = MakeUuidV7.make_request_id(&request).unwrap();
        let text = id.header_value().to_str().unwrap();
        let parsed = Uuid::parse_str(text).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
        assert!(is_usable(text.as_bytes()));
    }
}
