//! Posts and likes: drafts are seen only by their author; only the author
//! edits or deletes a post.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::db::enums::PostStatus;
use crate::db::models::post::{self, NewPost, Post, PostChanges, PostScope};
use crate::db::models::{legacy_id, like};
use crate::db::pagination::Keyset;
use crate::error::{AppError, AppResult};
use crate::services::Services;
use crate::social::limits::{self, Write};
use crate::social::{MAX_POST_CONTENT, announce, body, title};

/// A new post as the client sent it.
#[derive(Debug, Clone)]
pub struct PostDraft {
    pub title: String,
    pub content: String,
    pub status: Option<PostStatus>,
}

/// An edit of a post; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct PostEdit {
    pub title: Option<String>,
    pub content: Option<String>,
    pub status: Option<PostStatus>,
}

/// What the read rule of posts looks at, whichever shape holds the post
/// (its row here, the API's object in `graphql`), so the rule has one home.
pub trait PostAccess {
    /// Who wrote the post.
    fn author_id(&self) -> Uuid;
    /// Draft or published.
    fn status(&self) -> PostStatus;
}

impl PostAccess for Post {
    fn author_id(&self) -> Uuid {
        self.author_id
    }
    fn status(&self) -> PostStatus {
        self.status
    }
}

/// Whether `viewer` may see `post`: published posts to everyone, drafts to their author.
pub fn visible_to(post: &impl PostAccess, viewer: Option<Uuid>) -> bool {
    post.status() == PostStatus::Published || viewer == Some(post.author_id())
}

/// A page of the feed: every published post, newest first.
pub async fn feed_page(
    conn: &mut AsyncPgConnection,
    after: Option<Keyset>,
    limit: i64,
) -> AppResult<Vec<Post>> {
    Ok(post::page(conn, PostScope::Feed, after, limit).await?)
}

/// [`feed_page`] with whether `viewer` likes each post, in one statement.
pub async fn feed_page_liked_by(
    conn: &mut AsyncPgConnection,
    viewer: Uuid,
    after: Option<Keyset>,
    limit: i64,
) -> AppResult<Vec<(Post, bool)>> {
    Ok(post::page_liked_by(conn, viewer, PostScope::Feed, after, limit).await?)
}

/// A page of `author`'s posts as `reader` sees them: drafts only for the author.
pub async fn author_page(
    conn: &mut AsyncPgConnection,
    reader: Option<Uuid>,
    author: Uuid,
    after: Option<Keyset>,
    limit: i64,
) -> AppResult<Vec<Post>> {
    let scope = PostScope::Author {
        author_id: author,
        with_drafts: reader == Some(author),
    };
    Ok(post::page(conn, scope, after, limit).await?)
}

/// The first `limit` posts of each of `authors` as `reader` sees them (the
/// rule of [`author_page`], in one statement for many authors).
pub async fn first_pages(
    conn: &mut AsyncPgConnection,
    reader: Option<Uuid>,
    authors: &[Uuid],
    limit: i64,
) -> AppResult<Vec<Post>> {
    Ok(post::first_for_authors(conn, authors, reader, limit).await?)
}

/// Live posts by id; the caller applies [`visible_to`].
pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> AppResult<Vec<Post>> {
    Ok(post::find_many(conn, ids).await?)
}

/// The post that had `legacy_id` in the Next.js app, if it was imported
/// (whether the viewer may see it is checked when it is loaded).
pub async fn id_for_legacy(
    conn: &mut AsyncPgConnection,
    legacy_id: &str,
) -> AppResult<Option<Uuid>> {
    Ok(legacy_id::resolve(conn, legacy_id::model::POST, legacy_id).await?)
}

/// Which of `post_ids` `user_id` likes.
pub async fn liked_by(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    post_ids: &[Uuid],
) -> AppResult<Vec<Uuid>> {
    Ok(like::liked_by(conn, user_id, post_ids).await?)
}

/// The one read check for posts: a missing, deleted or hidden post is NOT_FOUND.
pub fn readable<P: PostAccess>(post: Option<P>, viewer: Option<Uuid>) -> AppResult<P> {
    post.filter(|post| visible_to(post, viewer))
        .ok_or_else(|| AppError::not_found("no such post"))
}

/// The one write check for posts: readable (else NOT_FOUND) and owned (else FORBIDDEN).
pub fn writable(post: Option<Post>, user_id: Uuid) -> AppResult<Post> {
    let post = readable(post, Some(user_id))?;
    if post.author_id != user_id {
        return Err(AppError::forbidden());
    }
    Ok(post)
}

/// Creates a post (a draft unless said otherwise).
pub async fn create(services: &Services, author_id: Uuid, draft: PostDraft) -> AppResult<Post> {
    let post = NewPost {
        id: Uuid::now_v7(),
        author_id,
        title: title(&draft.title, "title")?,
        content: body(&draft.content, "content", MAX_POST_CONTENT, false)?,
        status: draft.status.unwrap_or(PostStatus::Draft),
    };
    let mut checkout = services.pool.get().await?;
    let created = async {
        let conn: &mut AsyncPgConnection = &mut checkout;
        limits::count(conn, &services.config.write_limits, author_id, Write::Post).await?;
        conn.transaction::<_, AppError, _>(async move |conn| {
            let post = post::insert(conn, &post).await?;
            announce::post_created(conn, &post).await?;
            Ok(post)
        })
        .await
    }
    .await;
    checkout.finish(created).await
}

/// Edits the author's post.
pub async fn update(
    services: &Services,
    user_id: Uuid,
    id: Uuid,
    edit: PostEdit,
) -> AppResult<Post> {
    let changes = PostChanges {
        title: edit
            .title
            .as_deref()
            .map(|raw| title(raw, "title"))
            .transpose()?,
        content: edit
            .content
            .as_deref()
            .map(|raw| body(raw, "content", MAX_POST_CONTENT, false))
            .transpose()?,
        status: edit.status,
    };
    let mut checkout = services.pool.get().await?;
    let updated = async {
        let conn: &mut AsyncPgConnection = &mut checkout;
        let before = writable(post::find(conn, id).await?, user_id)?;
        if changes.is_empty() {
            return Ok(before);
        }
        conn.transaction::<_, AppError, _>(async move |conn| {
            let after = post::update(conn, id, &changes).await?;
            announce::post_updated(conn, &before, &after).await?;
            Ok(after)
        })
        .await
    }
    .await;
    checkout.finish(updated).await
}

/// Soft-deletes the author's post.
pub async fn delete(services: &Services, user_id: Uuid, id: Uuid) -> AppResult<()> {
    let mut checkout = services.pool.get().await?;
    let deleted = async {
        let conn: &mut AsyncPgConnection = &mut checkout;
        let post = writable(post::find(conn, id).await?, user_id)?;
        conn.transaction::<_, AppError, _>(async move |conn| {
            post::soft_delete(conn, id).await?;
            Ok(announce::post_deleted(conn, &post).await?)
        })
        .await
    }
    .await;
    checkout.finish(deleted).await
}

/// Likes or unlikes a visible post (idempotent) and returns it with its new count.
pub async fn set_liked(
    services: &Services,
    user_id: Uuid,
    post_id: Uuid,
    liked: bool,
) -> AppResult<Post> {
    let mut checkout = services.pool.get().await?;
    let set = async {
        let conn: &mut AsyncPgConnection = &mut checkout;
        limits::count(conn, &services.config.write_limits, user_id, Write::Like).await?;
        conn.transaction::<_, AppError, _>(async move |conn| {
            let post = readable(post::find(conn, post_id).await?, Some(user_id))?;
            if post.status == PostStatus::Draft && liked {
                return Err(AppError::bad_input("postId", "drafts cannot be liked"));
            }
            if liked {
                like::like(conn, user_id, post_id).await?;
            } else {
                like::unlike(conn, user_id, post_id).await?;
            }
            announce::like_set(conn, user_id, &post, liked).await?;
            readable(post::find(conn, post_id).await?, Some(user_id))
        })
        .await
    }
    .await;
    checkout.finish(set).await
}
