//! The process-wide Prometheus recorder.
//!
//! The `metrics` facade has one global recorder per process, so every
//! server in a process (the tests start many) shares it: installing is
//! idempotent and every caller gets the same handle.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::Unit;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::names;

/// Latency buckets, in seconds: a cached `post(id)` answers in about a
/// millisecond, a story generation may take tens of seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often histogram samples are folded into their buckets between scrapes
/// (so a server that nobody scrapes does not keep every sample).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder (once per process) and returns its handle; `None`
/// when another recorder was installed first, in which case nothing is exported.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE.get_or_init(build).as_ref()
}

/// The installed recorder's handle, if [`install`] ran.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE.get().and_then(Option::as_ref)
}

fn build() -> Option<PrometheusHandle> {
    let builder = match PrometheusBuilder::new().set_buckets_for_metric(
        Matcher::Full(names::GRAPHQL_DURATION.into()),
        LATENCY_BUCKETS,
    ) {
        Ok(builder) => builder,
        Err(err) => {
            tracing::error!(error = %err, "cannot configure the metrics recorder");
            return None;
        }
    };
    let handle = match builder.install_recorder() {
        Ok(handle) => handle,
        Err(err) => {
            tracing::error!(error = %err, "cannot install the metrics recorder");
            return None;
        }
    };
    describe();
    // Families without labels start at zero, so a dashboard sees them before the first event.
    metrics::counter!(names::STORY_QUOTA).absolute(0);
    metrics::counter!(names::DATABASE_UNAVAILABLE).absolute(0);
    metrics::gauge!(names::WEBSOCKETS).set(0.0);
    metrics::gauge!(names::SUBSCRIPTIONS).set(0.0);
    let upkeep = handle.clone();
    // A thread, not a task: the recorder outlives any one runtime (tests run many).
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        });
    if let Err(err) = spawned {
        tracing::warn!(error = %err, "cannot start the metrics upkeep thread; scrapes still fold samples");
    }
    Some(handle)
}

/// The HELP lines of the families counted through the recorder.
fn describe() {
    metrics::describe_counter!(
        names::HTTP_REQUESTS,
        "HTTP responses by matched route and status."
    );
    metrics::describe_counter!(
        names::GRAPHQL_OPERATIONS,
        "GraphQL operations by operation name (bounded set, else \"other\"), type and outcome."
    );
    metrics::describe_histogram!(
        names::GRAPHQL_DURATION,
        Unit::Seconds,
        "Time to admit and execute a GraphQL operation, by operation name and type."
    );
    metrics::describe_counter!(
        names::GRAPHQL_ERRORS,
        "GraphQL errors sent over HTTP, by extensions.code."
    );
    metrics::describe_counter!(
        names::RATE_LIMITED,
        "Requests refused by a rate limit, by rule."
    );
    metrics::describe_counter!(
        names::STORY_QUOTA,
        "Story generations refused by the daily quota."
    );
    metrics::describe_counter!(
        names::DATABASE_UNAVAILABLE,
        "Requests answered 503 SERVICE_UNAVAILABLE because the database could not be reached."
    );
    metrics::describe_gauge!(names::WEBSOCKETS, "Open WebSocket connections.");
    metrics::describe_gauge!(
        names::REPLICAS_HEALTHY,
        "Read replicas the last check found fit to take reads."
    );
    metrics::describe_counter!(
        names::READS,
        "GraphQL requests of queries only, by where their reads went (replica or primary)."
    );
    metrics::describe_counter!(
        names::DELIVERY_READS,
        "Subscription deliveries (one run per event and identical subscription), by where their reads went (replica or primary); counted with replicas only."
    );
    metrics::describe_counter!(
        names::POST_PAGES,
        "Pages of posts (the feed, a user's posts) by how they were answered: written (JSON straight from the rows) or resolved (field by field)."
    );
    metrics::describe_gauge!(
        names::SUBSCRIPTIONS,
        "Subscriptions running over all WebSockets."
    );
}
