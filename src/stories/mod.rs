//! AI stories: the story of a day, week, month, quarter or year, written from
//! the user's own diary by a pluggable generator, within a daily quota that
//! holds across instances.

pub mod generator;
pub mod material;
pub mod openai;
pub mod period;
pub mod template;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::auth::rate_limit::STORY_REFUNDS_PER_USER;
use crate::db::models::story::{self, Story};
use crate::error::{AppError, AppResult};
use crate::services::Services;
use crate::stories::material::StoryMaterial;
use crate::stories::period::Period;

/// Longest story kept; a longer answer of a generator is cut at a character boundary.
pub const MAX_STORY_CONTENT: usize = 20_000;

/// The viewer's allowance today.
#[derive(Debug, Clone, Copy)]
pub struct Quota {
    pub limit: i32,
    pub used: i32,
    pub resets_at: DateTime<Utc>,
}

impl Quota {
    /// Generations left today.
    pub fn remaining(&self) -> i32 {
        (self.limit - self.used).max(0)
    }
}

/// The next UTC midnight.
pub fn next_reset(now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = now.date_naive() + Duration::days(1);
    tomorrow
        .and_hms_opt(0, 0, 0)
        .map_or(now, |midnight| midnight.and_utc())
}

/// A page of `owner`'s stories, shown to `reader` (owner only), newest first.
pub async fn page_for_owner(
    conn: &mut diesel_async::AsyncPgConnection,
    reader: Option<Uuid>,
    owner: Uuid,
    after: Option<crate::db::pagination::Keyset>,
    limit: i64,
) -> AppResult<Vec<Story>> {
    crate::accounts::require_owner(reader, owner)?;
    Ok(story::page_for_user(conn, owner, after, limit).await?)
}

/// The user's quota today.
pub async fn quota(services: &Services, user_id: Uuid) -> AppResult<Quota> {
    let mut conn = services.pool.get().await?;
    let used = story::used_today(&mut conn, user_id).await?;
    let limit = services.config.stories.story_daily_limit;
    Ok(Quota {
        limit,
        used: used.min(limit),
        resets_at: next_reset(Utc::now()),
    })
}

/// Writes (or rewrites) the user's story of `period`. Costs one of today's
/// generations; a failed generation gives it back, up to `STORY_DAILY_REFUNDS`
/// a day (a failure may still have cost tokens). No pooled connection is held
/// while the generator runs.
pub async fn generate(services: &Services, user_id: Uuid, period: &str) -> AppResult<Story> {
    let period = Period::parse(period)?;
    let now = Utc::now();
    if period.start > now {
        return Err(AppError::bad_input("period", "has not started yet"));
    }
    let limit = services.config.stories.story_daily_limit;
    let material = {
        let mut conn = services.pool.get().await?;
        if story::take_generation(&mut conn, user_id, limit)
            .await?
            .is_none()
        {
            let resets_at = next_reset(now);
            crate::metrics::story_quota_refused();
            return Err(AppError::RateLimited {
                message: format!("today's {limit} story generations are used up").into(),
                retry_after_secs: u64::try_from((resets_at - now).num_seconds().max(1))
                    .unwrap_or(1),
                limit: Some(u32::try_from(limit).unwrap_or(0)),
                resets_at: Some(resets_at),
            });
        }
        match StoryMaterial::load(&mut conn, user_id, period).await {
            Ok(material) => material,
            Err(err) => {
                story::refund_generation(&mut conn, user_id, now).await?;
                return Err(err);
            }
        }
    };
    // The generation has its own limit: it must not eat the request's.
    if let Some(limit) = services.story_generator.time_limit() {
        crate::deadline::extend_current(limit);
    }
    let written = services.story_generator.generate(&material).await;
    let mut conn = services.pool.get().await?;
    let result: AppResult<_> = async {
        match written {
            Ok(content) => {
                let content = match content.char_indices().nth(MAX_STORY_CONTENT) {
                    Some((cut, _)) => &content[..cut],
                    None => &content[..],
                };
                Ok(story::upsert(&mut conn, user_id, &material.period.label, content).await?)
            }
            Err(failure) => {
                let refunds =
                    STORY_REFUNDS_PER_USER.limited_to(services.config.stories.story_daily_refunds);
                let today = format!("{user_id}:{}", now.date_naive());
                if refunds.try_hit(&mut conn, &today).await? {
                    story::refund_generation(&mut conn, user_id, now).await?;
                    Err(AppError::Upstream(failure.to_string().into()))
                } else {
                    Err(AppError::Upstream(
                        format!("{failure}; it counts against today's generations").into(),
                    ))
                }
            }
        }
    }
    .await;
    conn.finish(result).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_resets_at_the_next_utc_midnight() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T23:59:30Z")
            .unwrap()
            .to_utc();
        assert_eq!(next_reset(now).to_rfc3339(), "2026-11-23T00:00:00+00:00");
        let quota = Quota {
            limit: 5,
            used: 7,
            resets_at: now,
        };
        assert_eq!(quota.remaining(), 0);
    }
}
