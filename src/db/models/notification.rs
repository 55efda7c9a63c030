//! The `notifications` table: who liked or replied to whose post. Withdrawn
//! notifications (an unread like taken back) are invisible to every read here.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::enums::NotificationKind;
use crate::db::pagination::{Direction, Keyset};
use crate::db::schema::notifications;

/// A notification, as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notifications, check_for_backend(diesel::pg::Pg))]
pub struct Notification {
    pub id: Uuid,
    pub recipient_id: Uuid,
    pub actor_id: Uuid,
    pub kind: NotificationKind,
    pub post_id: Uuid,
    pub reply_id: Option<Uuid>,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct Inserted {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Bool)]
    inserted: bool,
}

impl Notification {
    /// The keyset of this notification in newest-first lists.
    pub fn keyset(&self) -> Keyset {
        Keyset {
            at: self.created_at,
            id: self.id,
        }
    }
}

/// Notifies the author of `post_id` that `actor_id` liked it, unless the
/// actor is the author. Once per (actor, post): a like notification that
/// an unlike withdrew is revived, not repeated. The id when a new one was made.
pub async fn notify_like(
    conn: &mut AsyncPgConnection,
    actor_id: Uuid,
    post_id: Uuid,
) -> QueryResult<Option<Uuid>> {
    let row: Option<Inserted> = diesel::sql_query(
        "INSERT INTO notifications (recipient_id, actor_id, kind, post_id)
         SELECT author_id, $1, 'POST_LIKED', id FROM posts WHERE id = $2 AND author_id <> $1
         ON CONFLICT (actor_id, post_id, reply_id) DO UPDATE SET withdrawn = false
             WHERE notifications.withdrawn
         RETURNING id, (xmax = 0) AS inserted",
    )
    .bind::<SqlUuid, _>(actor_id)
    .bind::<SqlUuid, _>(post_id)
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.filter(|row| row.inserted).map(|row| row.id))
}

/// Withdraws the unread like notification of (actor, post); a read one stays.
pub async fn withdraw_like(
    conn: &mut AsyncPgConnection,
    actor_id: Uuid,
    post_id: Uuid,
) -> QueryResult<()> {
    diesel::update(
        notifications::table
            .filter(notifications::actor_id.eq(actor_id))
            .filter(notifications::post_id.eq(post_id))
            .filter(notifications::kind.eq(NotificationKind::PostLiked))
            .filter(notifications::read_at.is_null()),
    )
    .set(notifications::withdrawn.eq(true))
    .execute(conn)
    .await
    .map(drop)
}

/// Notifies the post's author of a reply, unless the author wrote it. The new id.
pub async fn notify_reply(
    conn: &mut AsyncPgConnection,
    actor_id: Uuid,
    post_id: Uuid,
    reply_id: Uuid,
) -> QueryResult<Option<Uuid>> {
    let row: Option<Inserted> = diesel::sql_query(
        "INSERT INTO notifications (recipient_id, actor_id, kind, post_id, reply_id)
         SELECT author_id, $1, 'POST_REPLIED', id, $3 FROM posts WHERE id = $2 AND author_id <> $1
         RETURNING id, true AS inserted",
    )
    .bind::<SqlUuid, _>(actor_id)
    .bind::<SqlUuid, _>(post_id)
    .bind::<SqlUuid, _>(reply_id)
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|row| row.id))
}

/// Removes the unread notification of a deleted reply.
pub async fn remove_unread_for_reply(
    conn: &mut AsyncPgConnection,
    reply_id: Uuid,
) -> QueryResult<()> {
    diesel::delete(
        notifications::table
            .filter(notifications::reply_id.eq(reply_id))
            .filter(notifications::read_at.is_null()),
    )
    .execute(conn)
    .await
    .map(drop)
}

/// A live notification by id, whoever it belongs to.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Notification>> {
    notifications::table
        .find(id)
        .filter(notifications::withdrawn.eq(false))
        .select(Notification::as_select())
        .first(conn)
        .await
        .optional()
}

/// Live notifications by id, in no particular order (for DataLoaders).
pub async fn find_many(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<Notification>> {
    notifications::table
        .filter(notifications::id.eq_any(ids))
        .filter(notifications::withdrawn.eq(false))
        .select(Notification::as_select())
        .load(conn)
        .await
}

/// A page of a user's live notifications, newest first, after `after`.
pub async fn page(
    conn: &mut AsyncPgConnection,
    recipient_id: Uuid,
    unread_only: bool,
    after: Option<Keyset>,
    limit: i64,
) -> QueryResult<Vec<Notification>> {
    let mut query = notifications::table
        .filter(notifications::recipient_id.eq(recipient_id))
        .filter(notifications::withdrawn.eq(false))
        .select(Notification::as_select())
        .order((notifications::created_at.desc(), notifications::id.desc()))
        .limit(limit)
        .into_boxed();
    if unread_only {
        query = query.filter(notifications::read_at.is_null());
    }
    if let Some(after) = after {
        query = query.filter(after.condition(
            "notifications.created_at, notifications.id",
            Direction::Older,
        ));
    }
    query.load(conn).await
}

/// How many of a user's live notifications are unread.
pub async fn unread_count(conn: &mut AsyncPgConnection, recipient_id: Uuid) -> QueryResult<i64> {
    notifications::table
        .filter(notifications::recipient_id.eq(recipient_id))
        .filter(notifications::read_at.is_null())
        .filter(notifications::withdrawn.eq(false))
        .count()
        .get_result(conn)
        .await
}

/// Marks a user's unread notifications read: all, or those at or before
/// `up_to` in inbox order. Returns how many changed.
pub async fn mark_read(
    conn: &mut AsyncPgConnection,
    recipient_id: Uuid,
    up_to: Option<Keyset>,
) -> QueryResult<usize> {
    let mut query = diesel::update(notifications::table)
        .filter(notifications::recipient_id.eq(recipient_id))
        .filter(notifications::read_at.is_null())
        .filter(notifications::withdrawn.eq(false))
        .into_boxed();
    if let Some(up_to) = up_to {
        // At or before `up_to`: not newer than it.
        query = query.filter(diesel::dsl::not(up_to.condition(
            "notifications.created_at, notifications.id",
            Direction::Newer,
        )));
    }
    query
        .set(notifications::read_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
}
