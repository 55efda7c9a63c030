//! The `replies` table. Deleted replies are invisible to every read here.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::pagination::{Direction, Keyset};
use crate::db::schema::replies;

/// A reply, as stored.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = replies, check_for_backend(diesel::pg::Pg))]
pub struct Reply {
    pub id: Uuid,
    pub author_id: Uuid,
    pub post_id: Uuid,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Reply {
    /// The keyset of this reply in oldest-first lists.
    pub fn keyset(&self) -> Keyset {
        Keyset {
            at: self.created_at,
            id: self.id,
        }
    }
}

/// A live reply by id, locked for update when `for_update`.
pub async fn find(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    for_update: bool,
) -> QueryResult<Option<Reply>> {
    let query = replies::table
        .find(id)
        .filter(replies::deleted_at.is_null())
        .select(Reply::as_select());
    if for_update {
        query.for_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

/// Live replies by id, in no particular order (for DataLoaders).
pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Reply>> {
    replies::table
        .filter(replies::id.eq_any(ids))
        .filter(replies::deleted_at.is_null())
        .select(Reply::as_select())
        .load(conn)
        .await
}

/// Inserts a reply.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    author_id: Uuid,
    post_id: Uuid,
    content: &str,
) -> QueryResult<Reply> {
    diesel::insert_into(replies::table)
        .values((
            replies::id.eq(Uuid::now_v7()),
            replies::author_id.eq(author_id),
            replies::post_id.eq(post_id),
            replies::content.eq(content),
        ))
        .returning(Reply::as_returning())
        .get_result(conn)
        .await
}

/// Replaces the content.
pub async fn set_content(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    content: &str,
) -> QueryResult<Reply> {
    diesel::update(replies::table.find(id))
        .set(replies::content.eq(content))
        .returning(Reply::as_returning())
        .get_result(conn)
        .await
}

/// Soft-deletes a reply.
pub async fn soft_delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::update(replies::table.find(id))
        .set(replies::deleted_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
        .map(drop)
}

/// A page of a post's live replies, oldest first, after `after`.
pub async fn page_for_post(
    conn: &mut AsyncPgConnection,
    post_id: Uuid,
    after: Option<Keyset>,
    limit: i64,
) -> QueryResult<Vec<Reply>> {
    let mut query = replies::table
        .filter(replies::post_id.eq(post_id))
        .filter(replies::deleted_at.is_null())
        .select(Reply::as_select())
        .order((replies::created_at.asc(), replies::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(after.condition("replies.created_at, replies.id", Direction::Newer));
    }
    query.load(conn).await
}

/// The oldest `limit` live replies of each post, in one statement (a LATERAL join per post).
pub async fn first_for_posts(
    conn: &mut AsyncPgConnection,
    post_ids: &[Uuid],
    limit: i64,
) -> QueryResult<Vec<Reply>> {
    diesel::sql_query(
        "SELECT r.id, r.author_id, r.post_id, r.content, r.created_at, r.updated_at
         FROM unnest($1) AS p(id)
         CROSS JOIN LATERAL (
             SELECT * FROM replies
             WHERE post_id = p.id AND deleted_at IS NULL
             ORDER BY created_at, id
             LIMIT $2
         ) r",
    )
    .bind::<Array<SqlUuid>, _>(post_ids)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}
