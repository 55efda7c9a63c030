//! A cap on the SQL statements one request runs: the backstop behind the
//! complexity prices, counted by the pool's instrumentation for the request's
//! task (and the DataLoader tasks it spawns).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

tokio::task_local! {
    static CURRENT: Arc<StatementBudget>;
}

/// The statements a request may still run.
#[derive(Debug)]
pub struct StatementBudget {
    used: AtomicU32,
    cap: u32,
}

/// A request ran into its statement cap.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("this request needs more than {cap} SQL statements; ask for less in one request")]
pub struct CapReached {
    /// The cap that was reached.
    pub cap: u32,
}

impl StatementBudget {
    /// A budget of `cap` statements.
    pub fn new(cap: u32) -> Arc<Self> {
        Arc::new(Self {
            used: AtomicU32::new(0),
            cap,
        })
    }

    /// Statements counted so far.
    pub fn used(&self) -> u32 {
        self.used.load(Ordering::Relaxed)
    }

    /// Runs `future` with this budget counting its statements.
    pub async fn scope<F: Future>(self: Arc<Self>, future: F) -> F::Output {
        CURRENT.scope(self, future).await
    }
}

/// Counts one statement against the current task's budget, if it has one.
pub(crate) fn charge() {
    let _ = CURRENT.try_with(|budget| budget.used.fetch_add(1, Ordering::Relaxed));
}

/// Fails once the current task's request has used its budget; called before
/// a request borrows a connection for more reads.
pub fn check() -> Result<(), CapReached> {
    CURRENT
        .try_with(|budget| {
            if budget.used() >= budget.cap {
                Err(CapReached { cap: budget.cap })
            } else {
                Ok(())
            }
        })
        .unwrap_or(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_budget_counts_its_own_task_only() {
        let budget = StatementBudget::new(2);
        budget
            .clone()
            .scope(async {
                charge();
                assert!(check().is_ok());
                charge();
                assert_eq!(check().map_err(|err| err.cap), Err(2));
            })
            .await;
        charge();
        assert_eq!(budget.used(), 2);
        assert!(check().is_ok());
    }
}
