//! Replies: on published posts; edited by their author; deleted by their
//! author or by the post's author.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::db::enums::PostStatus;
use crate::db::models::post;
use crate::db::models::reply::{self, Reply};
use crate::error::{AppError, AppResult};
use crate::services::Services;
use crate::social::limits::{self, Write};
use crate::social::posts::readable;
use crate::social::{MAX_REPLY_CONTENT, announce, body};

/// Who may do what to a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyAction {
    Edit,
    Delete,
}

/// The one authorization check for replies: it exists (else NOT_FOUND) and
/// the user may act on it (else FORBIDDEN): its author edits it; its author or
/// the post's author deletes it.
pub fn authorize(
    reply: Option<Reply>,
    post_author: Option<Uuid>,
    user_id: Uuid,
    action: ReplyAction,
) -> AppResult<Reply> {
    let reply = reply.ok_or_else(|| AppError::not_found("no such reply"))?;
    let allowed = reply.author_id == user_id
        || (action == ReplyAction::Delete && post_author == Some(user_id));
    if !allowed {
        return Err(AppError::forbidden());
    }
    Ok(reply)
}

/// A page of a post's live replies, oldest first (the caller has checked
/// that the post is readable).
pub async fn page(
    conn: &mut AsyncPgConnection,
    post_id: Uuid,
    after: Option<crate::db::pagination::Keyset>,
    limit: i64,
) -> AppResult<Vec<Reply>> {
    Ok(reply::page_for_post(conn, post_id, after, limit).await?)
}

/// The first `limit` live replies of each of `post_ids`, oldest first (the
/// rule of [`page`], in one statement for many posts).
pub async fn first_pages(
    conn: &mut AsyncPgConnection,
    post_ids: &[Uuid],
    limit: i64,
) -> AppResult<Vec<Reply>> {
    Ok(reply::first_for_posts(conn, post_ids, limit).await?)
}

/// Live replies by id (callers reach them through a post the viewer may read).
pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> AppResult<Vec<Reply>> {
    Ok(reply::find_many(conn, ids).await?)
}

/// Replies to a published post.
pub async fn create(
    services: &Services,
    author_id: Uuid,
    post_id: Uuid,
    content: &str,
) -> AppResult<Reply> {
    let content = body(content, "content", MAX_REPLY_CONTENT, true)?;
    let mut conn = services.pool.get().await?;
    let result: AppResult<_> = async {
        let conn: &mut AsyncPgConnection = &mut conn;
        let post = readable(post::find(conn, post_id).await?, Some(author_id))?;
        if post.status == PostStatus::Draft {
            return Err(AppError::bad_input("postId", "drafts cannot be replied to"));
        }
        limits::count(conn, &services.config.write_limits, author_id, Write::Reply).await?;
        conn.transaction::<_, AppError, _>(async move |conn| {
            let reply = reply::insert(conn, author_id, post_id, &content).await?;
            announce::reply_added(conn, &post, &reply).await?;
            Ok(reply)
        })
        .await
    }
    .await;
    conn.finish(result).await
}

/// Edits the user's reply.
pub async fn update(
    services: &Services,
    user_id: Uuid,
    id: Uuid,
    content: &str,
) -> AppResult<Reply> {
    let content = body(content, "content", MAX_REPLY_CONTENT, true)?;
    let mut conn = services.pool.get().await?;
    let result: AppResult<_> = async {
        authorize(
            reply::find(&mut conn, id, false).await?,
            None,
            user_id,
            ReplyAction::Edit,
        )?;
        Ok(reply::set_content(&mut conn, id, &content).await?)
    }
    .await;
    conn.finish(result).await
}

/// Deletes a reply (its author or the post's author).
pub async fn delete(services: &Services, user_id: Uuid, id: Uuid) -> AppResult<()> {
    let mut conn = services.pool.get().await?;
    let result: AppResult<_> = async {
        let reply = reply::find(&mut conn, id, false).await?;
        let post_author = match &reply {
            Some(reply) => post::find(&mut conn, reply.post_id)
                .await?
                .map(|post| post.author_id),
            None => None,
        };
        let reply = authorize(reply, post_author, user_id, ReplyAction::Delete)?;
        let conn: &mut AsyncPgConnection = &mut conn;
        conn.transaction::<_, AppError, _>(async move |conn| {
            reply::soft_delete(conn, id).await?;
            Ok(announce::reply_deleted(conn, &reply).await?)
        })
        .await
    }
    .await;
    conn.finish(result).await
}
