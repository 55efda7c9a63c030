//! Replies: the `Reply` type and its mutations.

use std::sync::Arc;

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::models::reply::Reply as ReplyRow;
use crate::error::{AppError, AppResult};
use crate::graphql::fast::Fast;
use crate::graphql::post::Post;
use crate::graphql::user::{self, User};
use crate::graphql::{context, ids, limits};
use crate::social::{posts, replies};

/// A reply as the API shows it, moved out of its row.
#[derive(Debug, Clone)]
pub struct Reply {
    id: Uuid,
    author_id: Uuid,
    post_id: Uuid,
    content: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<ReplyRow> for Reply {
    fn from(row: ReplyRow) -> Self {
        Self {
            id: row.id,
            author_id: row.author_id,
            post_id: row.post_id,
            content: row.content,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl From<ReplyRow> for Fast<Reply> {
    fn from(row: ReplyRow) -> Self {
        Fast(row.into())
    }
}

#[Object]
impl Reply {
    async fn id(&self) -> ID {
        ids::to_id(self.id)
    }
    #[graphql(complexity = "limits::text_cost(crate::social::MAX_REPLY_CONTENT)")]
    async fn content(&self) -> &str {
        &self.content
    }

    async fn author(&self, ctx: &Context<'_>) -> AppResult<Fast<Arc<User>>> {
        let author = user::load(ctx, self.author_id).await?;
        author
            .map(Fast)
            .ok_or_else(|| AppError::internal("a reply's author is missing", self.id))
    }

    async fn post(&self, ctx: &Context<'_>) -> AppResult<Post> {
        let post = context::loaders(ctx).posts.load_one(self.post_id).await?;
        posts::readable(post, context::viewer(ctx).user_id())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
}

/// Reply mutations.
#[derive(Default)]
pub struct ReplyMutation;

#[Object]
impl ReplyMutation {
    async fn create_reply(
        &self,
        ctx: &Context<'_>,
        post_id: ID,
        content: String,
    ) -> AppResult<Reply> {
        let post_id = ids::parse(&post_id, "postId")?;
        let actor = context::viewer(ctx).actor()?;
        let reply =
            replies::create(context::services(ctx), actor.user_id, post_id, &content).await?;
        Ok(reply.into())
    }

    async fn update_reply(&self, ctx: &Context<'_>, id: ID, content: String) -> AppResult<Reply> {
        let id = ids::parse(&id, "id")?;
        let actor = context::viewer(ctx).actor()?;
        let reply = replies::update(context::services(ctx), actor.user_id, id, &content).await?;
        Ok(reply.into())
    }

    /// The reply's author or the post's author may delete it
    async fn delete_reply(&self, ctx: &Context<'_>, id: ID) -> AppResult<bool> {
        let id = ids::parse(&id, "id")?;
        let actor = context::viewer(ctx).actor()?;
        replies::delete(context::services(ctx), actor.user_id, id).await?;
        Ok(true)
    }
}
