//! Per-user write limits: one account cannot flood the feed. Counted with the
//! shared fixed-window limiter in PostgreSQL, so they hold across instances.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::auth::rate_limit::{
    ConfigurableRule, GOALS_PER_USER, LIKES_PER_USER, POSTS_PER_USER, REPLIES_PER_USER,
};
use crate::config::WriteLimitConfig;
use crate::error::{AppError, AppResult};

/// A kind of write with a limit of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Post,
    Reply,
    Goal,
    /// A like or an unlike.
    Like,
}

impl Write {
    fn rule(self) -> ConfigurableRule {
        match self {
            Self::Post => POSTS_PER_USER,
            Self::Reply => REPLIES_PER_USER,
            Self::Goal => GOALS_PER_USER,
            Self::Like => LIKES_PER_USER,
        }
    }

    fn limit(self, config: &WriteLimitConfig) -> i32 {
        match self {
            Self::Post => config.posts_per_hour,
            Self::Reply => config.replies_per_hour,
            Self::Goal => config.goals_per_hour,
            Self::Like => config.likes_per_hour,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Self::Post => "new posts",
            Self::Reply => "replies",
            Self::Goal => "new goals",
            Self::Like => "likes and unlikes",
        }
    }
}

/// Counts one write of `kind` by `user_id`; RATE_LIMITED (with `retryAfter`)
/// past the hour's limit.
pub async fn count(
    conn: &mut AsyncPgConnection,
    config: &WriteLimitConfig,
    user_id: Uuid,
    kind: Write,
) -> AppResult<()> {
    let limit = kind.limit(config);
    let rule = kind.rule().limited_to(limit);
    rule.hit(conn, &user_id.to_string())
        .await
        .map_err(|err| match err {
            AppError::RateLimited {
                retry_after_secs,
                resets_at,
                ..
            } => AppError::RateLimited {
                message: format!("at most {limit} {} an hour; try again later", kind.what()).into(),
                retry_after_secs,
                limit: u32::try_from(limit).ok(),
                resets_at,
            },
            other => other,
        })
}
