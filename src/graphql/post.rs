//! Posts: the `Post` type, the feed, and post and like mutations.

use std::sync::Arc;

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::enums::PostStatus;
use crate::db::models::post::Post as PostRow;
use crate::db::models::reply::Reply as ReplyRow;
use crate::db::pagination::Keyset;
use crate::error::{AppError, AppResult};
use crate::graphql::connection::PageRequest;
use crate::graphql::fast::Fast;
use crate::graphql::post_page::PostPage;
use crate::graphql::reply::Reply;
use crate::graphql::user::{self, User};
use crate::graphql::{context, ids, limits};
use crate::social::posts::{self, PostAccess, PostDraft, PostEdit};
use crate::social::replies;

/// A post as the API shows it, moved out of its row. Whether a viewer may
/// see it is [`posts::visible_to`]'s to say.
#[derive(Debug, Clone)]
pub struct Post {
    id: Uuid,
    author_id: Uuid,
    title: String,
    content: String,
    status: PostStatus,
    like_count: i32,
    reply_count: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<PostRow> for Post {
    fn from(row: PostRow) -> Self {
        Self {
            id: row.id,
            author_id: row.author_id,
            title: row.title,
            content: row.content,
            status: row.status,
            like_count: row.like_count,
            reply_count: row.reply_count,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl From<PostRow> for Fast<Post> {
    fn from(row: PostRow) -> Self {
        Fast(row.into())
    }
}

impl PostAccess for Post {
    fn author_id(&self) -> Uuid {
        self.author_id
    }
    fn status(&self) -> PostStatus {
        self.status
    }
}

#[Object]
impl Post {
    async fn id(&self) -> ID {
        ids::to_id(self.id)
    }
    async fn title(&self) -> &str {
        &self.title
    }
    #[graphql(complexity = "limits::text_cost(crate::social::MAX_POST_CONTENT)")]
    async fn content(&self) -> &str {
        &self.content
    }
    async fn status(&self) -> PostStatus {
        self.status
    }

    async fn author(&self, ctx: &Context<'_>) -> AppResult<Fast<Arc<User>>> {
        let author = user::load(ctx, self.author_id).await?;
        author
            .map(Fast)
            .ok_or_else(|| AppError::internal("a post's author is missing", self.id))
    }

    async fn like_count(&self) -> i32 {
        self.like_count
    }

    /// False for anonymous viewers
    async fn liked_by_me(&self, ctx: &Context<'_>) -> AppResult<bool> {
        Ok(context::loaders(ctx)
            .liked_by_viewer
            .load_one(self.id)
            .await?
            .unwrap_or(false))
    }

    async fn reply_count(&self) -> i32 {
        self.reply_count
    }

    /// Oldest first
    #[graphql(complexity = "limits::connection_cost(first, after.is_some(), child_complexity)")]
    async fn replies(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<Keyset, Fast<Reply>>> {
        let page = PageRequest::parse(first, after.as_deref())?;
        let rows = match page.after {
            // First pages of many posts come from one batched statement.
            None => context::loaders(ctx)
                .first_replies
                .load_one((self.id, page.fetch()))
                .await?
                .unwrap_or_default(),
            Some(after) => {
                let mut conn = context::conn(ctx).await?;
                replies::page(&mut conn, self.id, Some(after), page.fetch()).await?
            }
        };
        Ok(page.connection(rows, ReplyRow::keyset))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
}

/// Keeps the request's loaders true to a write, for the fields and
/// operations of the same request that read after it.
async fn refresh_cache(ctx: &Context<'_>, post: &Post, liked: Option<bool>) {
    let loaders = context::loaders(ctx);
    loaders.posts.feed_one(post.id, post.clone()).await;
    if let Some(liked) = liked {
        loaders.liked_by_viewer.feed_one(post.id, liked).await;
    }
}

/// Post queries.
#[derive(Default)]
pub struct PostQuery;

#[Object]
impl PostQuery {
    /// Null when there is no such post, it was deleted, or it is someone else's draft. `id` may also be the post's id in the Next.js app it was imported from
    async fn post(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<Post>> {
        let Some(id) = ids::resolve(ctx, &id, "id", posts::id_for_legacy).await? else {
            return Ok(None);
        };
        let viewer = context::viewer(ctx).user_id();
        let post = context::loaders(ctx).posts.load_one(id).await?;
        Ok(post.filter(|post| posts::visible_to(post, viewer)))
    }

    /// Every published post, newest first
    #[graphql(complexity = "limits::connection_cost(first, after.is_some(), child_complexity)")]
    async fn feed(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<PostPage> {
        let page = PageRequest::parse(first, after.as_deref())?;
        let asks_liked = ctx
            .look_ahead()
            .field("edges")
            .field("node")
            .field("likedByMe")
            .exists();
        let mut conn = context::conn(ctx).await?;
        match context::viewer(ctx).user_id().filter(|_| asks_liked) {
            // The page and the viewer's likes of it in one statement.
            Some(viewer) => {
                let rows =
                    posts::feed_page_liked_by(&mut conn, viewer, page.after, page.fetch()).await?;
                drop(conn);
                let liked = rows.iter().map(|(post, liked)| (post.id, *liked)).collect();
                let rows = rows.into_iter().map(|(post, _)| post).collect();
                PostPage::load(ctx, page, rows, Some(liked)).await
            }
            None => {
                let rows = posts::feed_page(&mut conn, page.after, page.fetch()).await?;
                drop(conn);
                PostPage::load(ctx, page, rows, None).await
            }
        }
    }
}

#[derive(InputObject)]
pub struct CreatePostInput {
    title: String,
    content: String,
    /// Defaults to DRAFT
    status: Option<PostStatus>,
}

/// Only the fields given are changed
#[derive(InputObject)]
pub struct UpdatePostInput {
    title: Option<String>,
    content: Option<String>,
    status: Option<PostStatus>,
}

/// Post and like mutations.
#[derive(Default)]
pub struct PostMutation;

#[Object]
impl PostMutation {
    async fn create_post(&self, ctx: &Context<'_>, input: CreatePostInput) -> AppResult<Post> {
        let actor = context::viewer(ctx).actor()?;
        let draft = PostDraft {
            title: input.title,
            content: input.content,
            status: input.status,
        };
        let post = posts::create(context::services(ctx), actor.user_id, draft).await?;
        Ok(post.into())
    }

    async fn update_post(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdatePostInput,
    ) -> AppResult<Post> {
        let id = ids::parse(&id, "id")?;
        let actor = context::viewer(ctx).actor()?;
        let edit = PostEdit {
            title: input.title,
            content: input.content,
            status: input.status,
        };
        let post = posts::update(context::services(ctx), actor.user_id, id, edit)
            .await?
            .into();
        refresh_cache(ctx, &post, None).await;
        Ok(post)
    }

    async fn delete_post(&self, ctx: &Context<'_>, id: ID) -> AppResult<bool> {
        let id = ids::parse(&id, "id")?;
        let actor = context::viewer(ctx).actor()?;
        posts::delete(context::services(ctx), actor.user_id, id).await?;
        context::loaders(ctx).posts.clear::<Uuid>();
        Ok(true)
    }

    /// Idempotent
    async fn like_post(&self, ctx: &Context<'_>, post_id: ID) -> AppResult<Post> {
        let post_id = ids::parse(&post_id, "postId")?;
        let actor = context::viewer(ctx).actor()?;
        let post = posts::set_liked(context::services(ctx), actor.user_id, post_id, true)
            .await?
            .into();
        refresh_cache(ctx, &post, Some(true)).await;
        Ok(post)
    }

    /// Idempotent
    async fn unlike_post(&self, ctx: &Context<'_>, post_id: ID) -> AppResult<Post> {
        let post_id = ids::parse(&post_id, "postId")?;
        let actor = context::viewer(ctx).actor()?;
        let post = posts::set_liked(context::services(ctx), actor.user_id, post_id, false)
            .await?
            .into();
        refresh_cache(ctx, &post, Some(false)).await;
        Ok(post)
    }
}
