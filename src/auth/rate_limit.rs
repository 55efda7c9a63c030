//! Brute-force limits, counted in PostgreSQL so they hold across instances.

use std::time::Duration;

use chrono::Utc;
use diesel_async::AsyncPgConnection;

use crate::db::models::rate_limit::{self, Bucket};
use crate::error::{AppError, AppResult};

/// A limit: at most `limit` events per `window` for one subject.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub name: &'static str,
    pub limit: i32,
    pub window: Duration,
}

const MINUTE: u64 = 60;

/// Failed sign-ins per email address.
pub const SIGN_IN_PER_EMAIL: Rule = Rule {
    name: "sign_in_email",
    limit: 10,
    window: Duration::from_secs(15 * MINUTE),
};
/// Failed sign-ins per client IP.
pub const SIGN_IN_PER_IP: Rule = Rule {
    name: "sign_in_ip",
    limit: 50,
    window: Duration::from_secs(15 * MINUTE),
};
/// Password reset requests per email address.
pub const RESET_PER_EMAIL: Rule = Rule {
    name: "reset_email",
    limit: 3,
    window: Duration::from_secs(60 * MINUTE),
};
/// Sign-ups per client IP.
pub const SIGN_UP_PER_IP: Rule = Rule {
    name: "sign_up_ip",
    limit: 300,
    window: Duration::from_secs(60 * MINUTE),
};
/// Verification emails per user.
pub const VERIFICATION_PER_USER: Rule = Rule {
    name: "verification_user",
    limit: 5,
    window: Duration::from_secs(60 * MINUTE),
};

/// Data exports per user (each reads everything the user owns).
pub const EXPORT_PER_USER: Rule = Rule {
    name: "export_user",
    limit: 10,
    window: Duration::from_secs(60 * MINUTE),
};

/// The longest window of any rule (buckets older than this are garbage).
pub const LONGEST_WINDOW: Duration = Duration::from_secs(60 * MINUTE);

impl Rule {
    fn key(&self, subject: &str) -> String {
        format!("{}:{subject}", self.name)
    }

    /// Counts one event; RATE_LIMITED when it goes over the limit.
    pub async fn hit(&self, conn: &mut AsyncPgConnection, subject: &str) -> AppResult<()> {
        let bucket = rate_limit::hit(conn, &self.key(subject), self.window).await?;
        if bucket.count > self.limit {
            Err(self.exceeded(bucket))
        } else {
            Ok(())
        }
    }

    /// Takes back one counted event (an attempt that turned out fine).
    pub async fn release(&self, conn: &mut AsyncPgConnection, subject: &str) -> AppResult<()> {
        Ok(rate_limit::release(conn, &self.key(subject)).await?)
    }

    /// Forgets the subject's count.
    pub async fn reset(&self, conn: &mut AsyncPgConnection, subject: &str) -> AppResult<()> {
        Ok(rate_limit::clear(conn, &self.key(subject)).await?)
    }

    fn exceeded(&self, bucket: Bucket) -> AppError {
        let window = chrono::Duration::from_std(self.window).unwrap_or(chrono::Duration::MAX);
        let retry_after = (bucket.window_start + window - Utc::now())
            .num_seconds()
            .max(1);
        AppError::RateLimited {
            message: "too many attempts; try again later".into(),
            retry_after_secs: u64::try_from(retry_after).unwrap_or(1),
            limit: None,
            resets_at: None,
        }
    }
}
