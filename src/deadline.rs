//! The time limit of one request. The HTTP layer sets it; work with a time
//! limit of its own (a story generation) extends it by that limit, so the
//! request's limit never cuts such work short.
//!
//! The deadline lives in a task-local: a request is served within one task,
//! and this keeps it from being threaded through every handler and resolver.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

tokio::task_local! {
    static CURRENT: Deadline;
}

/// When a request must be done; it can be pushed back, never brought forward.
#[derive(Debug, Clone)]
pub struct Deadline(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    start: Instant,
    limit: Duration,
    extra_micros: AtomicU64,
}

/// The work ran past its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request ran past its time limit")]
pub struct Elapsed;

impl Deadline {
    /// A deadline `limit` from now.
    pub fn after(limit: Duration) -> Self {
        Self(Arc::new(Inner {
            start: Instant::now(),
            limit,
            extra_micros: AtomicU64::new(0),
        }))
    }

    fn at(&self) -> Instant {
        let extra = Duration::from_micros(self.0.extra_micros.load(Ordering::Acquire));
        self.0.start + self.0.limit + extra
    }

    fn extend(&self, by: Duration) {
        let micros = u64::try_from(by.as_micros()).unwrap_or(u64::MAX);
        self.0.extra_micros.fetch_add(micros, Ordering::AcqRel);
    }

    /// Runs `work` as the current request's work (so [`extend_current`]
    /// reaches this deadline) and stops it once the deadline has passed.
    pub async fn run<F: Future>(self, work: F) -> Result<F::Output, Elapsed> {
        let deadline = self.clone();
        CURRENT
            .scope(self, async move {
                let mut work = std::pin::pin!(work);
                loop {
                    let at = deadline.at();
                    tokio::select! {
                        biased;
                        output = &mut work => return Ok(output),
                        () = tokio::time::sleep_until(at) => {
                            // Pushed back while we slept: keep going.
                            if deadline.at() <= at {
                                return Err(Elapsed);
                            }
                        }
                    }
                }
            })
            .await
    }
}

/// Gives the current request `by` more time (nothing outside a request).
pub fn extend_current(by: Duration) {
    // Outside `Deadline::run` (a command, a unit test) there is no deadline to move.
    let _ = CURRENT.try_with(|deadline| deadline.extend(by));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn work_past_the_deadline_is_stopped() {
        let result = Deadline::after(Duration::from_secs(1))
            .run(tokio::time::sleep(Duration::from_secs(2)))
            .await;
        assert_eq!(result, Err(Elapsed));
    }

    #[tokio::test(start_paused = true)]
    async fn an_extension_lets_longer_work_finish() {
        let result = Deadline::after(Duration::from_secs(1))
            .run(async {
                extend_current(Duration::from_secs(5));
                tokio::time::sleep(Duration::from_secs(4)).await;
                "done"
            })
            .await;
        assert_eq!(result, Ok("done"));
        extend_current(Duration::from_secs(1));
    }
}
