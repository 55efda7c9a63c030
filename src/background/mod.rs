//! Work each instance does besides answering requests: delivering the email
//! outbox and sweeping expired rows. Both are safe on any number of instances
//! (an email is leased to one worker at a time; the sweeps are idempotent
//! deletes), so every instance runs both.
//!
//! The schedule, in one place:
//!
//! | work | when |
//! |---|---|
//! | outbox delivery ([`outbox`]) | at once when a transaction queued email (the wake-up), straight on after a full batch, else every [`OUTBOX_POLL`] (another instance may have queued mail) |
//! | expiry cleanup ([`cleanup`]) | every [`CLEANUP_EVERY`], the first one interval after start |

pub mod cleanup;
pub mod outbox;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::db::DbPool;
use crate::email::Mailer;

/// How often the outbox is polled when nobody wakes its worker.
pub const OUTBOX_POLL: Duration = Duration::from_secs(1);
/// How long a leased email stays invisible to other instances' workers.
pub const OUTBOX_LEASE: Duration = Duration::from_secs(120);
/// Emails leased per round.
pub const OUTBOX_BATCH: i32 = 20;
/// How often expired sessions, tokens, OAuth states, counters and emails are swept.
pub const CLEANUP_EVERY: Duration = Duration::from_secs(600);

/// Why a round of background work failed (it is logged, and the next round
/// tries again).
#[derive(Debug, thiserror::Error)]
pub enum BackgroundError {
    #[error("cannot get a database connection: {0}")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
    #[error("a statement failed: {0}")]
    Query(#[from] diesel::result::Error),
}

/// Starts the background work on the current runtime. `email_wakeup` is
/// notified after a transaction queued email, so it goes out at once.
pub fn start(pool: DbPool, mailer: Mailer, email_wakeup: Arc<Notify>) {
    tokio::spawn(outbox::run(pool.clone(), mailer, email_wakeup));
    tokio::spawn(cleanup::run(pool));
}
