//! The background worker: sends queued email and sweeps expired rows.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Notify;

use crate::auth::rate_limit::LONGEST_WINDOW;
use crate::db::DbPool;
use crate::db::models::oauth_state::OAuthState;
use crate::db::models::{outbox, password_reset, rate_limit, session, verification_token};
use crate::email::Mailer;

/// How often the outbox is polled when nobody wakes the worker (another
/// instance may have queued mail).
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How long a leased email stays invisible to other workers.
const LEASE: Duration = Duration::from_secs(120);
/// Emails leased per round.
const BATCH: i32 = 20;
/// How often expired sessions, tokens and counters are swept.
const SWEEP_INTERVAL: Duration = Duration::from_secs(600);

/// Starts the worker on the current runtime. `wakeup` is notified after a
/// transaction queued email, so it goes out at once.
pub fn spawn(pool: DbPool, mailer: Mailer, wakeup: Arc<Notify>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_sweep = tokio::time::Instant::now();
        loop {
            match deliver_due(&pool, &mailer).await {
                // A full batch: there may be more waiting.
                Ok(n) if n == BATCH as usize => continue,
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "email delivery round failed"),
            }
            if last_sweep.elapsed() >= SWEEP_INTERVAL {
                if let Err(err) = sweep(&pool).await {
                    tracing::warn!(error = %err, "sweeping expired rows failed");
                }
                last_sweep = tokio::time::Instant::now();
            }
            let _ = tokio::time::timeout(POLL_INTERVAL, wakeup.notified()).await;
        }
    })
}

/// Sends every due email once; returns how many were leased.
pub async fn deliver_due(pool: &DbPool, mailer: &Mailer) -> Result<usize, String> {
    let leased = {
        let mut conn = pool.get().await.map_err(|err| err.to_string())?;
        outbox::lease_due(&mut conn, BATCH, LEASE)
            .await
            .map_err(|err| err.to_string())?
    };
    // No connection is held while talking to the SMTP server.
    for email in &leased {
        let result = mailer.send(email).await;
        let mut conn = pool.get().await.map_err(|err| err.to_string())?;
        match result {
            Ok(()) => {
                tracing::info!(to = %email.recipient, subject = %email.subject, "email sent");
                outbox::delete(&mut conn, email.id)
                    .await
                    .map_err(|err| err.to_string())?;
            }
            Err(err) => {
                let delay = backoff(email.attempts);
                tracing::warn!(to = %email.recipient, attempt = email.attempts, retry_in = ?delay, error = %err, "email not sent");
                let at =
                    Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
                outbox::retry_at(&mut conn, email.id, &err, at)
                    .await
                    .map_err(|err| err.to_string())?;
            }
        }
    }
    Ok(leased.len())
}

/// 2 s after the first failure, doubling up to 5 minutes.
fn backoff(attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.clamp(1, 16) - 1).unwrap_or(0);
    Duration::from_secs(2u64.saturating_mul(1 << exponent).min(300))
}

async fn sweep(pool: &DbPool) -> Result<(), String> {
    let mut conn = pool.get().await.map_err(|err| err.to_string())?;
    let conn = &mut *conn;
    let sessions = session::delete_expired(conn)
        .await
        .map_err(|err| err.to_string())?;
    let tokens = verification_token::delete_expired(conn)
        .await
        .map_err(|err| err.to_string())?;
    let resets = password_reset::delete_spent(conn)
        .await
        .map_err(|err| err.to_string())?;
    let buckets = rate_limit::delete_stale(conn, LONGEST_WINDOW)
        .await
        .map_err(|err| err.to_string())?;
    let emails = outbox::delete_expired(conn)
        .await
        .map_err(|err| err.to_string())?;
    let oauth_states = OAuthState::delete_expired(conn)
        .await
        .map_err(|err| err.to_string())?;
    tracing::debug!(
        sessions,
        tokens,
        resets,
        buckets,
        emails,
        oauth_states,
        "swept expired rows"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(2), Duration::from_secs(4));
        assert_eq!(backoff(5), Duration::from_secs(32));
        assert_eq!(backoff(30), Duration::from_secs(300));
    }
}
