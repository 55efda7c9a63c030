//! The `stories` table, the daily generation quota on `users`, and the diary
//! material a story is written from.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::enums::{GoalPeriod, GoalStatus, PostStatus};
use crate::db::pagination::{Direction, Keyset};
use crate::db::schema::{goals, posts, replies, stories, users};

/// A story, as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = stories, check_for_backend(diesel::pg::Pg))]
pub struct Story {
    pub id: Uuid,
    pub user_id: Uuid,
    pub period: String,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Story {
    /// The keyset of this story in newest-first lists.
    pub fn keyset(&self) -> Keyset {
        Keyset {
            at: self.created_at,
            id: self.id,
        }
    }
}

/// Writes the user's story for `period`, replacing an older one.
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    period: &str,
    content: &str,
) -> QueryResult<Story> {
    diesel::insert_into(stories::table)
        .values((
            stories::id.eq(Uuid::now_v7()),
            stories::user_id.eq(user_id),
            stories::period.eq(period),
            stories::content.eq(content),
        ))
        .on_conflict((stories::user_id, stories::period))
        .do_update()
        .set(stories::content.eq(content))
        .returning(Story::as_returning())
        .get_result(conn)
        .await
}

/// A page of a user's stories, newest first.
pub async fn page_for_user(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    after: Option<Keyset>,
    limit: i64,
) -> QueryResult<Vec<Story>> {
    let mut query = stories::table
        .filter(stories::user_id.eq(user_id))
        .select(Story::as_select())
        .order((stories::created_at.desc(), stories::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(after.condition("stories.created_at, stories.id", Direction::Older));
    }
    query.load(conn).await
}

/// A user's generation count, as the quota sees it.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct QuotaUse {
    #[diesel(sql_type = Integer)]
    pub used: i32,
}

/// Takes one of today's (UTC) generations in one conditional statement, so it
/// is exact under concurrency and across instances. `None` when `limit` is used up.
pub async fn take_generation(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    limit: i32,
) -> QueryResult<Option<QuotaUse>> {
    diesel::sql_query(
        "UPDATE users SET
             daily_generation_count = CASE WHEN last_generation_date >= date_trunc('day', now(), 'UTC')
                                           THEN daily_generation_count + 1 ELSE 1 END,
             last_generation_date = now()
         WHERE id = $1 AND $2 > 0
           AND (last_generation_date IS NULL
                OR last_generation_date < date_trunc('day', now(), 'UTC')
                OR daily_generation_count < $2)
         RETURNING daily_generation_count AS used",
    )
    .bind::<SqlUuid, _>(user_id)
    .bind::<Integer, _>(limit)
    .get_result(conn)
    .await
    .optional()
}

/// Gives back a generation taken today (a failed generation costs nothing).
/// A charge taken before midnight is not refunded: the count already restarted.
pub async fn refund_generation(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    taken_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE users SET daily_generation_count = daily_generation_count - 1
         WHERE id = $1 AND daily_generation_count > 0
           AND last_generation_date >= date_trunc('day', now(), 'UTC')
           AND date_trunc('day', $2, 'UTC') = date_trunc('day', now(), 'UTC')",
    )
    .bind::<SqlUuid, _>(user_id)
    .bind::<Timestamptz, _>(taken_at)
    .execute(conn)
    .await
    .map(drop)
}

/// Generations used today (UTC).
pub async fn used_today(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<i32> {
    #[derive(QueryableByName)]
    struct Used {
        #[diesel(sql_type = Nullable<Integer>)]
        used: Option<i32>,
    }
    diesel::sql_query(
        "SELECT CASE WHEN last_generation_date >= date_trunc('day', now(), 'UTC') THEN daily_generation_count ELSE 0 END AS used
         FROM users WHERE id = $1",
    )
    .bind::<SqlUuid, _>(user_id)
    .get_result::<Used>(conn)
    .await
    .optional()
    .map(|row| row.and_then(|row| row.used).unwrap_or(0))
}

/// A goal in the material.
#[derive(Debug, Clone, Queryable)]
pub struct GoalItem {
    pub title: String,
    pub period: GoalPeriod,
    pub status: GoalStatus,
    pub deadline: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// A post in the material.
#[derive(Debug, Clone, Queryable)]
pub struct PostItem {
    pub title: String,
    pub content: String,
    pub status: PostStatus,
    pub created_at: DateTime<Utc>,
}

/// A reply the user received in the material.
#[derive(Debug, Clone, Queryable)]
pub struct ReplyItem {
    pub from: Option<String>,
    pub post_title: String,
    pub content: String,
    pub created_at: DateTime<Utc>,
}

/// Most items of each kind a story is made from.
const MAX_ITEMS: i64 = 50;

/// Goals active or completed in `[start, end)`, newest first.
pub async fn goals_in(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> QueryResult<Vec<GoalItem>> {
    goals::table
        .filter(goals::user_id.eq(user_id))
        .filter(goals::deleted_at.is_null())
        .filter(goals::start_date.lt(end))
        .filter(
            goals::status
                .eq(GoalStatus::Active)
                .and(goals::deadline.ge(start))
                .or(goals::completed_at
                    .ge(start)
                    .and(goals::completed_at.lt(end))),
        )
        .order(goals::deadline.desc())
        .limit(MAX_ITEMS)
        .select((
            goals::title,
            goals::period,
            goals::status,
            goals::deadline,
            goals::completed_at,
        ))
        .load(conn)
        .await
}

/// Posts (drafts too) written in `[start, end)`, newest first.
pub async fn posts_in(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> QueryResult<Vec<PostItem>> {
    posts::table
        .filter(posts::author_id.eq(user_id))
        .filter(posts::deleted_at.is_null())
        .filter(posts::created_at.ge(start).and(posts::created_at.lt(end)))
        .order(posts::created_at.desc())
        .limit(MAX_ITEMS)
        .select((
            posts::title,
            posts::content,
            posts::status,
            posts::created_at,
        ))
        .load(conn)
        .await
}

/// Replies others wrote on the user's posts in `[start, end)`, newest first.
pub async fn replies_received_in(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> QueryResult<Vec<ReplyItem>> {
    replies::table
        .inner_join(posts::table)
        .inner_join(users::table.on(users::id.eq(replies::author_id)))
        .filter(posts::author_id.eq(user_id))
        .filter(replies::author_id.ne(user_id))
        .filter(replies::deleted_at.is_null())
        .filter(posts::deleted_at.is_null())
        .filter(
            replies::created_at
                .ge(start)
                .and(replies::created_at.lt(end)),
        )
        .order(replies::created_at.desc())
        .limit(MAX_ITEMS)
        .select((
            users::name,
            posts::title,
            replies::content,
            replies::created_at,
        ))
        .load(conn)
        .await
}
