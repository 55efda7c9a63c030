//! One run per event for identical subscriptions.
//!
//! Subscriptions with the same document, operation name and variables, seen
//! by the same viewer class (anonymous, or one user: a field such as
//! `likedByMe` depends on who asks), get the same answer to one event. The
//! first socket to take the event runs the selection; the others wait for
//! its outcome and send that. So 1,000 anonymous subscribers of the feed
//! with one document cost one run per event, not 1,000.
//!
//! Sockets take an event at slightly different moments, so an outcome is
//! kept for [`KEEP_FOR`] after its run started, and the outcomes kept are
//! bounded in number and bytes (the oldest go first): a socket that comes
//! later runs the selection again, which is only slower. If the socket
//! running it goes away, another waiting one runs it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;
use uuid::Uuid;

/// How long an outcome is kept for sockets that take its event later.
pub const KEEP_FOR: Duration = Duration::from_secs(2);
/// The most bytes of payloads kept.
const MAX_BYTES: usize = 16 * 1024 * 1024;
/// The most outcomes kept.
const MAX_OUTCOMES: usize = 10_000;

/// A digest of a subscription's text: document, operation name, variables.
pub type Digest = [u8; 32];

/// What one run of a subscription's selection for one event gave.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Its responses, each the JSON payload of a `next` message.
    pub payloads: Vec<Arc<str>>,
    /// The subscription is over (its post was deleted or hidden).
    pub ended: bool,
}

impl Outcome {
    fn bytes(&self) -> usize {
        self.payloads.iter().map(|payload| payload.len()).sum()
    }
}

/// Which runs are the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RunKey {
    /// The event's dispatch number on this instance.
    pub dispatch: u64,
    /// The subscription's text.
    pub text: Digest,
    /// The viewer's user, or `None` for every anonymous viewer.
    pub viewer: Option<Uuid>,
}

/// The instance's recent runs.
#[derive(Default)]
pub struct SharedRuns {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    runs: HashMap<RunKey, Run>,
    /// Keys in the order their runs started (one entry per run held).
    order: VecDeque<(RunKey, Instant)>,
    bytes: usize,
}

struct Run {
    outcome: Arc<OnceCell<Arc<Outcome>>>,
    bytes: usize,
}

impl SharedRuns {
    /// No runs yet.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Maps and counters only: a panic elsewhere leaves nothing half-done that matters.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The outcome of run `key`: `execute`d here unless the same run is under
    /// way or was kept.
    pub async fn run<F, Fut>(&self, key: RunKey, execute: F) -> Arc<Outcome>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Outcome>,
    {
        let cell = self.cell(key);
        cell.get_or_init(|| async {
            let outcome = Arc::new(execute().await);
            self.settle(&key, &cell, outcome.bytes());
            outcome
        })
        .await
        .clone()
    }

    /// How many outcomes are held (finished or under way).
    pub fn held(&self) -> usize {
        self.state().runs.len()
    }

    fn cell(&self, key: RunKey) -> Arc<OnceCell<Arc<Outcome>>> {
        let now = Instant::now();
        let mut state = self.state();
        state.evict(now);
        if let Some(run) = state.runs.get(&key) {
            return run.outcome.clone();
        }
        let outcome = Arc::new(OnceCell::new());
        state.runs.insert(
            key,
            Run {
                outcome: outcome.clone(),
                bytes: 0,
            },
        );
        state.order.push_back((key, now));
        outcome
    }

    /// Counts the bytes of a finished run, if it is still held.
    fn settle(&self, key: &RunKey, cell: &Arc<OnceCell<Arc<Outcome>>>, bytes: usize) {
        let mut state = self.state();
        let Some(run) = state.runs.get_mut(key) else {
            return;
        };
        if !Arc::ptr_eq(&run.outcome, cell) {
            return;
        }
        run.bytes = bytes;
        state.bytes += bytes;
        state.evict(Instant::now());
    }
}

impl State {
    /// Drops the oldest runs while any is too old or too much is held.
    fn evict(&mut self, now: Instant) {
        while let Some(&(key, started)) = self.order.front() {
            let over = self.bytes > MAX_BYTES || self.runs.len() > MAX_OUTCOMES;
            if !over && now.duration_since(started) < KEEP_FOR {
                break;
            }
            self.order.pop_front();
            if let Some(run) = self.runs.remove(&key) {
                self.bytes -= run.bytes;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn key(dispatch: u64, viewer: Option<Uuid>) -> RunKey {
        RunKey {
            dispatch,
            text: [7; 32],
            viewer,
        }
    }

    #[tokio::test]
    async fn identical_runs_of_one_event_run_once() {
        let shared = SharedRuns::new();
        let runs = AtomicUsize::new(0);
        let execute = || async {
            runs.fetch_add(1, Ordering::Relaxed);
            tokio::task::yield_now().await;
            Outcome {
                payloads: vec!["{}".into()],
                ended: false,
            }
        };
        let user = Some(Uuid::now_v7());
        let together =
            futures_util::future::join_all((0..10).map(|_| shared.run(key(1, None), execute)))
                .await;
        assert_eq!(runs.load(Ordering::Relaxed), 1, "ten waiters, one run");
        assert!(
            together
                .iter()
                .all(|outcome| Arc::ptr_eq(outcome, &together[0]))
        );
        shared.run(key(1, None), execute).await;
        assert_eq!(runs.load(Ordering::Relaxed), 1, "a later socket reuses it");
        shared.run(key(2, None), execute).await;
        shared.run(key(1, user), execute).await;
        assert_eq!(
            runs.load(Ordering::Relaxed),
            3,
            "another event, another viewer: runs of their own"
        );
        assert_eq!(shared.held(), 3);
    }

    #[test]
    fn old_runs_and_bytes_past_the_bound_are_dropped() {
        let mut state = State::default();
        let start = Instant::now();
        for dispatch in 0..3 {
            let run = Run {
                outcome: Arc::new(OnceCell::new()),
                bytes: MAX_BYTES / 2,
            };
            state.runs.insert(key(dispatch, None), run);
            state.order.push_back((key(dispatch, None), start));
            state.bytes += MAX_BYTES / 2;
        }
        state.evict(start);
        assert_eq!(state.runs.len(), 2, "the oldest went for the bytes");
        state.evict(start + KEEP_FOR);
        assert!(state.runs.is_empty() && state.order.is_empty());
        assert_eq!(state.bytes, 0);
    }
}
