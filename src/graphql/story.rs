//! AI stories: the `Story` and `StoryQuota` types, `storyQuota` and `generateStory`.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::models::story::Story as StoryRow;
use crate::error::AppResult;
use crate::graphql::{context, ids, limits};
use crate::stories;

/// A story as the API shows it (to its owner only), moved out of its row.
#[derive(Debug, Clone)]
pub struct Story {
    id: Uuid,
    period: String,
    content: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<StoryRow> for Story {
    fn from(row: StoryRow) -> Self {
        Self {
            id: row.id,
            period: row.period,
            content: row.content,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[Object]
impl Story {
    async fn id(&self) -> ID {
        ids::to_id(self.id)
    }
    /// Which period the story tells: 2026-11-22 (day), 2026-W47 (ISO week), 2026-11 (month), 2026-Q4 (quarter) or 2026 (year)
    async fn period(&self) -> &str {
        &self.period
    }
    #[graphql(complexity = "limits::text_cost(crate::stories::MAX_STORY_CONTENT)")]
    async fn content(&self) -> &str {
        &self.content
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
}

/// The viewer's allowance of story generations today.
#[derive(SimpleObject)]
pub struct StoryQuota {
    limit: i32,
    used: i32,
    remaining: i32,
    /// When the count starts again (the next UTC midnight)
    resets_at: DateTime<Utc>,
}

/// Story queries.
#[derive(Default)]
pub struct StoryQuery;

#[Object]
impl StoryQuery {
    /// The viewer's AI story allowance today; UNAUTHENTICATED when not signed in
    async fn story_quota(&self, ctx: &Context<'_>) -> AppResult<StoryQuota> {
        let actor = context::viewer(ctx).actor()?;
        let quota = stories::quota(context::services(ctx), actor.user_id).await?;
        Ok(StoryQuota {
            limit: quota.limit,
            used: quota.used,
            remaining: quota.remaining(),
            resets_at: quota.resets_at,
        })
    }
}

/// Story mutations.
#[derive(Default)]
pub struct StoryMutation;

#[Object]
impl StoryMutation {
    /// Writes (or rewrites) the viewer's story for a period. Costs one of today's generations; a failed generation is given back, up to a few a day
    async fn generate_story(&self, ctx: &Context<'_>, period: String) -> AppResult<Story> {
        let actor = context::viewer(ctx).actor()?;
        let story = stories::generate(context::services(ctx), actor.user_id, &period).await?;
        Ok(story.into())
    }
}
