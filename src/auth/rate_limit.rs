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

/// A limit whose count is a setting: its name and window are fixed here, so
/// [`LONGEST_WINDOW`] knows it.
#[derive(Debug, Clone, Copy)]
pub struct ConfigurableRule {
    pub name: &'static str,
    pub window: Duration,
}

impl ConfigurableRule {
    /// The rule with its configured limit.
    pub const fn limited_to(self, limit: i32) -> Rule {
        Rule {
            name: self.name,
            limit,
            window: self.window,
        }
    }
}

/// New posts per user (`POSTS_PER_HOUR`).
pub const POSTS_PER_USER: ConfigurableRule = ConfigurableRule {
    name: "posts_user",
    window: Duration::from_secs(60 * MINUTE),
};
/// New replies per user (`REPLIES_PER_HOUR`).
pub const REPLIES_PER_USER: ConfigurableRule = ConfigurableRule {
    name: "replies_user",
    window: Duration::from_secs(60 * MINUTE),
};
/// New goals per user (`GOALS_PER_HOUR`).
pub const GOALS_PER_USER: ConfigurableRule = ConfigurableRule {
    name: "goals_user",
    window: Duration::from_secs(60 * MINUTE),
};
/// Likes and unlikes per user (`LIKES_PER_HOUR`).
pub const LIKES_PER_USER: ConfigurableRule = ConfigurableRule {
    name: "likes_user",
    window: Duration::from_secs(60 * MINUTE),
};
/// Failed story generations given back per user and UTC day
/// (`STORY_DAILY_REFUNDS`); the subject carries the date, the window outlasts it.
pub const STORY_REFUNDS_PER_USER: ConfigurableRule = ConfigurableRule {
    name: "story_refunds_user",
    window: Duration::from_secs(24 * 60 * MINUTE),
};

/// The window of every rule; a new rule must be listed here.
const WINDOWS: &[Duration] = &[
    SIGN_IN_PER_EMAIL.window,
    SIGN_IN_PER_IP.window,
    RESET_PER_EMAIL.window,
    SIGN_UP_PER_IP.window,
    VERIFICATION_PER_USER.window,
    POSTS_PER_USER.window,
    REPLIES_PER_USER.window,
    GOALS_PER_USER.window,
    LIKES_PER_USER.window,
    STORY_REFUNDS_PER_USER.window,
];

/// The longest window of any rule (buckets older than this are garbage).
pub const LONGEST_WINDOW: Duration = longest(WINDOWS);

const fn longest(windows: &[Duration]) -> Duration {
    let mut longest = Duration::ZERO;
    let mut i = 0;
    while i < windows.len() {
        if windows[i].as_nanos() > longest.as_nanos() {
            longest = windows[i];
        }
        i += 1;
    }
    longest
}

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

    /// Counts one event; false when it goes over the limit (for limits that
    /// change what happens instead of refusing the request).
    pub async fn try_hit(&self, conn: &mut AsyncPgConnection, subject: &str) -> AppResult<bool> {
        let bucket = rate_limit::hit(conn, &self.key(subject), self.window).await?;
        Ok(bucket.count <= self.limit)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_window_covers_every_rule() {
        assert_eq!(LONGEST_WINDOW, STORY_REFUNDS_PER_USER.window);
        assert!(WINDOWS.iter().all(|window| *window <= LONGEST_WINDOW));
        assert_eq!(POSTS_PER_USER.limited_to(7).limit, 7);
    }
}
