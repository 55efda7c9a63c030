//! Counter and histogram handles by label values, kept once made.
//!
//! The `metrics` macros build a key (a label vector) and the recorder copies
//! it on every call; here a label combination costs that once, and every
//! later call is a read-locked map lookup and an atomic add.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{LazyLock, PoisonError, RwLock};

use metrics::{Counter, Histogram};

use super::names;

/// Handles by key; a handle, once made, is shared by every later call.
struct Cache<K, V>(RwLock<HashMap<K, V>>);

impl<K: Hash + Eq + Copy, V: Clone> Cache<K, V> {
    fn new() -> Self {
        Self(RwLock::new(HashMap::new()))
    }

    fn get_or(&self, key: K, make: impl FnOnce() -> V) -> V {
        // A poisoned lock still holds valid handles: a panic cannot leave one half-made.
        if let Some(found) = self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return found.clone();
        }
        let made = make();
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_insert(made)
            .clone()
    }
}

type Route = (&'static str, &'static str);
type Operation = (&'static str, &'static str, &'static str);

static HTTP: LazyLock<Cache<Route, Counter>> = LazyLock::new(Cache::new);
static OPERATIONS: LazyLock<Cache<Operation, (Counter, Histogram)>> = LazyLock::new(Cache::new);
static ERRORS: LazyLock<Cache<&'static str, Counter>> = LazyLock::new(Cache::new);

/// The counter of HTTP responses of `route` with `status`.
pub fn http_requests(route: &'static str, status: &'static str) -> Counter {
    HTTP.get_or(
        (route, status),
        || metrics::counter!(names::HTTP_REQUESTS, "route" => route, "status" => status),
    )
}

/// The counter and latency histogram of an operation.
pub fn graphql_operation(
    name: &'static str,
    kind: &'static str,
    outcome: &'static str,
) -> (Counter, Histogram) {
    OPERATIONS.get_or((name, kind, outcome), || {
        (
            metrics::counter!(names::GRAPHQL_OPERATIONS, "operation" => name, "type" => kind, "outcome" => outcome),
            metrics::histogram!(names::GRAPHQL_DURATION, "operation" => name, "type" => kind),
        )
    })
}

/// The counter of GraphQL errors with `code`.
pub fn graphql_errors(code: &'static str) -> Counter {
    ERRORS.get_or(
        code,
        || metrics::counter!(names::GRAPHQL_ERRORS, "code" => code),
    )
}
