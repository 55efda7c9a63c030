//! Notifications: the `Notification` type, the inbox queries and marking read.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::connection::Connection;
use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::DbPool;
use crate::db::enums::NotificationKind;
use crate::db::models::notification::Notification as NotificationRow;
use crate::db::pagination::Keyset;
use crate::error::{AppError, AppResult};
use crate::graphql::connection::PageRequest;
use crate::graphql::context::checkout;
use crate::graphql::loaders::prime;
use crate::graphql::post::Post;
use crate::graphql::reply::Reply;
use crate::graphql::user::{self, User};
use crate::graphql::{context, ids, limits};
use crate::social::{notifications, posts};

/// A notification as the API shows it (to its recipient only), moved out of its row.
#[derive(Debug, Clone)]
pub struct Notification {
    id: Uuid,
    actor_id: Uuid,
    kind: NotificationKind,
    post_id: Uuid,
    reply_id: Option<Uuid>,
    read: bool,
    created_at: DateTime<Utc>,
}

impl From<NotificationRow> for Notification {
    fn from(row: NotificationRow) -> Self {
        Self {
            id: row.id,
            actor_id: row.actor_id,
            kind: row.kind,
            post_id: row.post_id,
            reply_id: row.reply_id,
            read: row.read_at.is_some(),
            created_at: row.created_at,
        }
    }
}

/// Someone else liked or replied to one of the viewer's posts (own actions notify no one; a like notifies once)
#[Object]
impl Notification {
    async fn id(&self) -> ID {
        ids::to_id(self.id)
    }
    async fn kind(&self) -> NotificationKind {
        self.kind
    }
    async fn actor(&self, ctx: &Context<'_>) -> AppResult<Arc<User>> {
        let actor = user::load(ctx, self.actor_id).await?;
        actor.ok_or_else(|| AppError::internal("a notification's actor is missing", self.id))
    }
    /// Null once the post is deleted or hidden from the viewer
    async fn post(&self, ctx: &Context<'_>) -> AppResult<Option<Post>> {
        let post = context::loaders(ctx).posts.load_one(self.post_id).await?;
        Ok(post.filter(|post| posts::visible_to(post, context::viewer(ctx).user_id())))
    }
    /// The reply, for POST_REPLIED; null once it is deleted
    async fn reply(&self, ctx: &Context<'_>) -> AppResult<Option<Reply>> {
        match self.reply_id {
            Some(id) => Ok(context::loaders(ctx).replies.load_one(id).await?),
            None => Ok(None),
        }
    }
    async fn read(&self) -> bool {
        self.read
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

/// Live notifications by id (whose they are is checked by the caller).
pub struct NotificationLoader(pub DbPool);

impl Loader<Uuid> for NotificationLoader {
    type Value = NotificationRow;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, NotificationRow>, AppError> {
        let mut conn = checkout(&self.0).await?;
        let found = notifications::find_many(&mut conn, keys).await?;
        Ok(found.into_iter().map(|n| (n.id, n)).collect())
    }
}

/// Notification queries.
#[derive(Default)]
pub struct NotificationQuery;

#[Object]
impl NotificationQuery {
    /// The viewer's notifications, newest first; UNAUTHENTICATED when not signed in
    #[graphql(complexity = "limits::connection_cost(first, after.is_some(), child_complexity)")]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        unread_only: Option<bool>,
    ) -> AppResult<Connection<Keyset, Notification>> {
        let actor = context::viewer(ctx).actor()?;
        let page = PageRequest::parse(first, after.as_deref())?;
        let mut conn = context::conn(ctx).await?;
        let rows = notifications::page(
            &mut conn,
            actor.user_id,
            unread_only.unwrap_or(false),
            page.after,
            page.fetch(),
        )
        .await?;
        drop(conn);
        prefetch(ctx, &rows).await?;
        Ok(page.connection(rows, NotificationRow::keyset))
    }

    /// How many of the viewer's notifications are unread; UNAUTHENTICATED when not signed in
    async fn unread_notification_count(&self, ctx: &Context<'_>) -> AppResult<i32> {
        let actor = context::viewer(ctx).actor()?;
        let mut conn = context::conn(ctx).await?;
        notifications::unread_count(&mut conn, actor.user_id).await
    }
}

/// Loads what the page's nodes select (actors, posts, replies) with one
/// statement per kind, whatever the page size.
async fn prefetch(ctx: &Context<'_>, rows: &[NotificationRow]) -> AppResult<()> {
    let node = ctx.look_ahead().field("edges").field("node");
    let loaders = context::loaders(ctx);
    let ids = |pick: fn(&NotificationRow) -> Option<Uuid>| {
        let mut ids: Vec<Uuid> = rows.iter().filter_map(pick).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let actor = node.field("actor");
    if actor.exists() {
        user::prime_for(ctx, &actor, &ids(|n| Some(n.actor_id))).await?;
    }
    if node.field("post").exists() {
        prime(&loaders.posts, &ids(|n| Some(n.post_id))).await?;
    }
    if node.field("reply").exists() {
        prime(&loaders.replies, &ids(|n| n.reply_id)).await?;
    }
    Ok(())
}

/// Notification mutations.
#[derive(Default)]
pub struct NotificationMutation;

#[Object]
impl NotificationMutation {
    /// Marks the viewer's notifications read: all of them, or those up to and including `upTo`. Returns how many changed
    async fn mark_notifications_read(
        &self,
        ctx: &Context<'_>,
        up_to: Option<ID>,
    ) -> AppResult<i32> {
        let actor = context::viewer(ctx).actor()?;
        let up_to = up_to.map(|id| ids::parse(&id, "upTo")).transpose()?;
        let mut conn = context::conn(ctx).await?;
        let marked = notifications::mark_read(&mut conn, actor.user_id, up_to).await;
        conn.finish(marked).await
    }
}
