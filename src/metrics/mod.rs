//! Prometheus metrics: the families this server exports and the calls that
//! count into them.
//!
//! Everything is counted through the `metrics` facade into one
//! process-wide recorder ([`recorder`]); `GET /metrics` renders it with the
//! values read at scrape time (pool, email outbox, build) in [`scrape`].
//!
//! Labels are bounded and `&'static str`: routes are the router's matched
//! paths, operation names pass [`operation::SelectedOperation`], codes and
//! rules are the program's own constants. The hot path (one HTTP request,
//! one GraphQL operation) takes counter handles from [`handles`], so it
//! allocates nothing once a label combination has been seen.

pub mod handles;
pub mod operation;
pub mod recorder;
pub mod scrape;

use std::time::Duration;

use axum::http::StatusCode;

pub use operation::SelectedOperation;

/// Family names, each with the prefix `growth_diary_`.
pub mod names {
    /// HTTP responses by matched route and status.
    pub const HTTP_REQUESTS: &str = "growth_diary_http_requests_total";
    /// GraphQL operations by name, type and outcome.
    pub const GRAPHQL_OPERATIONS: &str = "growth_diary_graphql_operations_total";
    /// GraphQL operation latency by name and type, in seconds.
    pub const GRAPHQL_DURATION: &str = "growth_diary_graphql_operation_duration_seconds";
    /// GraphQL errors sent to clients, by contract code.
    pub const GRAPHQL_ERRORS: &str = "growth_diary_graphql_errors_total";
    /// Requests refused by a rate limit, by rule.
    pub const RATE_LIMITED: &str = "growth_diary_rate_limit_refusals_total";
    /// Story generations refused by the daily quota.
    pub const STORY_QUOTA: &str = "growth_diary_story_quota_refusals_total";
    /// Requests answered 503 because the database could not be reached.
    pub const DATABASE_UNAVAILABLE: &str = "growth_diary_database_unavailable_total";
    /// Open WebSocket connections.
    pub const WEBSOCKETS: &str = "growth_diary_websocket_connections";
    /// Running subscriptions over all WebSockets.
    pub const SUBSCRIPTIONS: &str = "growth_diary_subscriptions_active";
    /// Read replicas the last check found fit to take reads.
    pub const REPLICAS_HEALTHY: &str = "growth_diary_replicas_healthy";
    /// GraphQL requests by where their reads went (`replica` or `primary`).
    pub const READS: &str = "growth_diary_graphql_reads_total";
    /// Subscription deliveries by where their reads went (`replica` or `primary`).
    pub const DELIVERY_READS: &str = "growth_diary_delivery_reads_total";
    pub const POST_PAGES: &str = "growth_diary_post_pages_total";
}

/// Counts one HTTP response of `route` (a matched path, or `unmatched`).
pub fn http_request(route: &'static str, status: StatusCode) {
    handles::http_requests(route, status_label(status)).increment(1);
}

/// Counts one GraphQL operation and records its latency.
pub fn graphql_operation(name: &'static str, kind: &'static str, ok: bool, elapsed: Duration) {
    let outcome = if ok { "ok" } else { "error" };
    let (count, latency) = handles::graphql_operation(name, kind, outcome);
    count.increment(1);
    latency.record(elapsed.as_secs_f64());
}

/// Counts one GraphQL error with the contract code `code`.
pub fn graphql_error(code: &str) {
    handles::graphql_errors(code_label(code)).increment(1);
}

/// Counts a request refused by the rate-limit rule `rule`.
pub fn rate_limit_refused(rule: &'static str) {
    metrics::counter!(names::RATE_LIMITED, "rule" => rule).increment(1);
}

/// Counts a story generation refused by the daily quota.
pub fn story_quota_refused() {
    metrics::counter!(names::STORY_QUOTA).increment(1);
}

/// Sets how many read replicas take reads.
pub fn replicas_healthy(count: usize) {
    metrics::gauge!(names::REPLICAS_HEALTHY).set(count as f64);
}

/// Counts a GraphQL request by where its reads went.
pub fn graphql_reads(on_replica: bool) {
    let target = if on_replica { "replica" } else { "primary" };
    metrics::counter!(names::READS, "target" => target).increment(1);
}

/// Counts a subscription delivery (one run for an event, shared by
/// identical subscriptions) by where its reads went.
pub fn delivery_reads(on_replica: bool) {
    let target = if on_replica { "replica" } else { "primary" };
    metrics::counter!(names::DELIVERY_READS, "target" => target).increment(1);
}

/// Counts a page of posts by how it was answered: its JSON written from its
/// rows, or resolved field by field (see `graphql::direct`).
pub fn post_page(written: bool) {
    let answer = if written { "written" } else { "resolved" };
    metrics::counter!(names::POST_PAGES, "answer" => answer).increment(1);
}

/// Counts a request answered 503 because the database could not be reached.
pub fn database_unavailable() {
    metrics::counter!(names::DATABASE_UNAVAILABLE).increment(1);
}

/// An open WebSocket, counted until dropped.
#[derive(Debug)]
pub struct OpenSocket(());

impl OpenSocket {
    /// Counts a socket that just opened.
    pub fn opened() -> Self {
        metrics::gauge!(names::WEBSOCKETS).increment(1.0);
        Self(())
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        metrics::gauge!(names::WEBSOCKETS).decrement(1.0);
    }
}

/// The running subscriptions of one socket, counted until dropped.
#[derive(Debug, Default)]
pub struct SocketSubscriptions(usize);

impl SocketSubscriptions {
    /// The socket now runs `running` subscriptions.
    pub fn set(&mut self, running: usize) {
        if running == self.0 {
            return;
        }
        let gauge = metrics::gauge!(names::SUBSCRIPTIONS);
        if running > self.0 {
            gauge.increment((running - self.0) as f64);
        } else {
            gauge.decrement((self.0 - running) as f64);
        }
        self.0 = running;
    }
}

impl Drop for SocketSubscriptions {
    fn drop(&mut self) {
        self.set(0);
    }
}

/// A status as a label without formatting: the codes this server sends, else its class.
fn status_label(status: StatusCode) -> &'static str {
    match status.as_u16() {
        101 => "101",
        200 => "200",
        204 => "204",
        301 => "301",
        302 => "302",
        303 => "303",
        304 => "304",
        307 => "307",
        308 => "308",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        406 => "406",
        408 => "408",
        409 => "409",
        413 => "413",
        415 => "415",
        422 => "422",
        429 => "429",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        other => match other / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        },
    }
}

/// A contract code as a static label (anything unknown is `OTHER`, so a
/// stray code cannot grow the label set).
fn code_label(code: &str) -> &'static str {
    use crate::error::codes;
    [
        codes::UNAUTHENTICATED,
        codes::FORBIDDEN,
        codes::NOT_FOUND,
        codes::BAD_USER_INPUT,
        codes::CONFLICT,
        codes::RATE_LIMITED,
        codes::INTERNAL_SERVER_ERROR,
        codes::SERVICE_UNAVAILABLE,
    ]
    .into_iter()
    .find(|known| *known == code)
    .unwrap_or("OTHER")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        assert_eq!(status_label(StatusCode::OK), "200");
        assert_eq!(status_label(StatusCode::IM_A_TEAPOT), "4xx");
        assert_eq!(status_label(StatusCode::from_u16(599).unwrap()), "5xx");
        assert_eq!(code_label("NOT_FOUND"), "NOT_FOUND");
        assert_eq!(code_label("whatever a client sent"), "OTHER");
    }
}
