//! Expiry cleanup: deletes what no request can use any more (expired
//! sessions, spent or expired tokens and OAuth states, rate-limit counters
//! past their window, email that could never be delivered).

use tokio::time::{Instant, MissedTickBehavior};

use crate::auth::rate_limit::LONGEST_WINDOW;
use crate::background::{BackgroundError, CLEANUP_EVERY};
use crate::db::DbPool;
use crate::db::models::{
    oauth_state, outbox, password_reset, rate_limit, session, verification_token,
};

/// Sweeps for ever, on the schedule of [`crate::background`].
pub async fn run(pool: DbPool) {
    let mut every = tokio::time::interval_at(Instant::now() + CLEANUP_EVERY, CLEANUP_EVERY);
    every.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(err) = sweep(&pool).await {
            tracing::warn!(error = %err, "sweeping expired rows failed");
        }
    }
}

/// Deletes every expired row once.
pub async fn sweep(pool: &DbPool) -> Result<(), BackgroundError> {
    let mut checkout = pool.get().await?;
    let conn = &mut *checkout;
    let sessions = session::delete_expired(conn).await?;
    let tokens = verification_token::delete_expired(conn).await?;
    let resets = password_reset::delete_spent(conn).await?;
    let buckets = rate_limit::delete_stale(conn, LONGEST_WINDOW).await?;
    let emails = outbox::delete_expired(conn).await?;
    let oauth_states = oauth_state::delete_expired(conn).await?;
    tracing::debug!(
        sessions,
        tokens,
        resets,
        buckets,
        emails,
        oauth_states,
        "swept expired rows"
    );
    checkout.commit().await?;
    Ok(())
}
