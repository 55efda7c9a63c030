//! The `sessions` table: database sessions, looked up by the SHA-256 of their token.

use chrono::{DateTime, Utc};
use diesel::pg::data_types::PgLsn;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::sessions;

/// A session, as stored (the token itself never is).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
pub struct Session {
    pub id: Uuid,
    pub user_id: Uuid,
    pub expires: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// Where the primary's WAL stood after the user's last write (see `db::replicas`).
    pub write_lsn: Option<PgLsn>,
}

/// Inserts a session for `user_id` whose token hashes to `token_sha256`.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    token_sha256: &[u8],
    expires: DateTime<Utc>,
) -> QueryResult<Session> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(Uuid::now_v7()),
            sessions::user_id.eq(user_id),
            sessions::session_token_sha256.eq(token_sha256),
            sessions::expires.eq(expires),
        ))
        .returning(Session::as_returning())
        .get_result(conn)
        .await
}

/// The unexpired session whose token hashes to `token_sha256`.
pub async fn find_active(
    conn: &mut AsyncPgConnection,
    token_sha256: &[u8],
) -> QueryResult<Option<Session>> {
    sessions::table
        .filter(sessions::session_token_sha256.eq(token_sha256))
        .filter(sessions::expires.gt(diesel::dsl::now))
        .select(Session::as_select())
        .first(conn)
        .await
        .optional()
}

/// Records, on every live session of `users`, where the primary's WAL stands
/// now: after their writes, which committed before this runs.
pub async fn stamp_write(conn: &mut AsyncPgConnection, users: &[Uuid]) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq_any(users))
            .filter(sessions::expires.gt(diesel::dsl::now)),
    )
    .set(sessions::write_lsn.eq(current_wal_insert_lsn().nullable()))
    .execute(conn)
    .await
}

diesel::define_sql_function! {
    /// PostgreSQL's `pg_current_wal_insert_lsn()`.
    #[sql_name = "pg_current_wal_insert_lsn"]
    fn current_wal_insert_lsn() -> diesel::sql_types::PgLsn;
}

/// Moves a session's expiry.
pub async fn extend(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    expires: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(sessions::table.find(id))
        .set(sessions::expires.eq(expires))
        .execute(conn)
        .await
        .map(drop)
}

/// Ends one session; true when it existed.
pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::delete(sessions::table.find(id))
        .execute(conn)
        .await
        .map(|n| n > 0)
}

/// Ends every session of a user except `keep`; returns how many ended.
pub async fn delete_all_for_user(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    keep: Option<Uuid>,
) -> QueryResult<usize> {
    let mut query = diesel::delete(sessions::table)
        .filter(sessions::user_id.eq(user_id))
        .into_boxed();
    if let Some(keep) = keep {
        query = query.filter(sessions::id.ne(keep));
    }
    query.execute(conn).await
}

/// Which of `ids` are live (unexpired) sessions.
pub async fn live_among(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    sessions::table
        .filter(sessions::id.eq_any(ids))
        .filter(sessions::expires.gt(diesel::dsl::now))
        .select(sessions::id)
        .load(conn)
        .await
}

/// Removes expired sessions; returns how many.
pub async fn delete_expired(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::expires.le(diesel::dsl::now)))
        .execute(conn)
        .await
}
