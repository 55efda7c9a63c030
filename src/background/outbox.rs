//! Outbox delivery: sends queued email, retrying failures with backoff, so an
//! SMTP outage loses nothing.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Notify;

use crate::background::{BackgroundError, OUTBOX_BATCH, OUTBOX_LEASE, OUTBOX_POLL};
use crate::db::DbPool;
use crate::db::models::outbox;
use crate::email::Mailer;

/// Delivers due email for ever, on the schedule of [`crate::background`].
pub async fn run(pool: DbPool, mailer: Mailer, wakeup: Arc<Notify>) {
    loop {
        match deliver_due(&pool, &mailer).await {
            // A full batch: there may be more waiting.
            Ok(n) if n == OUTBOX_BATCH as usize => continue,
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "email delivery round failed"),
        }
        let _ = tokio::time::timeout(OUTBOX_POLL, wakeup.notified()).await;
    }
}

/// Sends every due email once; returns how many were leased.
pub async fn deliver_due(pool: &DbPool, mailer: &Mailer) -> Result<usize, BackgroundError> {
    let leased = {
        let mut conn = pool.get().await?;
        let leased = outbox::lease_due(&mut conn, OUTBOX_BATCH, OUTBOX_LEASE).await;
        // The lease is others' to see before any email goes out.
        conn.finish(leased).await?
    };
    // No connection is held while talking to the SMTP server.
    for email in &leased {
        let result = mailer.send(email).await;
        let mut conn = pool.get().await?;
        let recorded = match result {
            Ok(()) => {
                tracing::info!(to = %email.recipient, subject = %email.subject, "email sent");
                outbox::delete(&mut conn, email.id).await.map(drop)
            }
            Err(err) => {
                let delay = backoff(email.attempts);
                tracing::warn!(to = %email.recipient, attempt = email.attempts, retry_in = ?delay, error = %err, "email not sent");
                let at =
                    Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
                outbox::retry_at(&mut conn, email.id, &err, at)
                    .await
                    .map(drop)
            }
        };
        conn.finish(recorded).await?;
    }
    Ok(leased.len())
}

/// 2 s after the first failure, doubling up to 5 minutes.
fn backoff(attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.clamp(1, 16) - 1).unwrap_or(0);
    Duration::from_secs(2u64.saturating_mul(1 << exponent).min(300))
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
