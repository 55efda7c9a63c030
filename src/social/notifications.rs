//! The notifications inbox: a user reads and marks only their own.

use uuid::Uuid;

use crate::db::DbConn;
use crate::db::models::notification::{self, Notification};
use crate::db::pagination::Keyset;
use crate::error::{AppError, AppResult};

/// The one read check for notifications: a missing, withdrawn or someone
/// else's notification is NOT_FOUND.
pub fn readable(notification: Option<Notification>, user_id: Uuid) -> AppResult<Notification> {
    notification
        .filter(|notification| notification.recipient_id == user_id)
        .ok_or_else(|| AppError::not_found("no such notification"))
}

/// Live notifications by id; the caller applies [`readable`].
pub async fn find_many(conn: &mut DbConn, ids: &[Uuid]) -> AppResult<Vec<Notification>> {
    Ok(notification::find_many(conn, ids).await?)
}

/// A page of the user's notifications, newest first (`fetch` rows after `after`).
pub async fn page(
    conn: &mut DbConn,
    user_id: Uuid,
    unread_only: bool,
    after: Option<Keyset>,
    fetch: i64,
) -> AppResult<Vec<Notification>> {
    Ok(notification::page(conn, user_id, unread_only, after, fetch).await?)
}

/// How many of the user's notifications are unread.
pub async fn unread_count(conn: &mut DbConn, user_id: Uuid) -> AppResult<i32> {
    let count = notification::unread_count(conn, user_id).await?;
    Ok(i32::try_from(count).unwrap_or(i32::MAX))
}

/// Marks the user's notifications read: all, or those up to and including
/// `up_to` (which must be theirs). Returns how many changed.
pub async fn mark_read(conn: &mut DbConn, user_id: Uuid, up_to: Option<Uuid>) -> AppResult<i32> {
    let up_to = match up_to {
        Some(id) => {
            let found = notification::find(conn, id).await?;
            let found = readable(found, user_id)
                .map_err(|_| AppError::bad_input("upTo", "no such notification"))?;
            Some(found.keyset())
        }
        None => None,
    };
    let changed = notification::mark_read(conn, user_id, up_to).await?;
    Ok(i32::try_from(changed).unwrap_or(i32::MAX))
}
