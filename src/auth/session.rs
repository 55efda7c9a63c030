//! Database sessions, as NextAuth keeps them: a random token for the client,
//! its SHA-256 in `sessions`, 30 days, extended on use at most once a day.

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::auth::tokens;
use crate::db::models::session::{self, Session};
use crate::error::AppResult;

/// How long a session lives after its last extension.
pub const LIFETIME: Duration = Duration::days(30);
/// A session is extended when it was last extended longer ago than this.
pub const EXTEND_AFTER: Duration = Duration::days(1);

/// A session just started: the token goes to the client, never to the database.
#[derive(Debug, Clone)]
pub struct StartedSession {
    pub token: String,
    pub session: Session,
}

/// Starts a session for `user_id`.
pub async fn start(conn: &mut AsyncPgConnection, user_id: Uuid) -> AppResult<StartedSession> {
    let (token, digest) = tokens::generate();
    let session = session::insert(conn, user_id, &digest, Utc::now() + LIFETIME).await?;
    Ok(StartedSession { token, session })
}

/// The live session a token belongs to, extended if it was last extended over
/// a day ago. A token too short to be one ([`tokens::is_acceptable`]) belongs
/// to none, whatever the table holds.
pub async fn resolve(conn: &mut AsyncPgConnection, token: &str) -> AppResult<Option<Session>> {
    if !tokens::is_acceptable(token) {
        return Ok(None);
    }
    let Some(mut found) = session::find_active(conn, &tokens::sha256(token)).await? else {
        return Ok(None);
    };
    let now = Utc::now();
    if needs_extension(found.expires, now) {
        found.expires = now + LIFETIME;
        session::extend(conn, found.id, found.expires).await?;
    }
    Ok(Some(found))
}

fn needs_extension(expires: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    expires < now + LIFETIME - EXTEND_AFTER
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_extended_at_most_once_a_day() {
        let now = Utc::now();
        assert!(!needs_extension(now + LIFETIME, now));
        assert!(!needs_extension(now + LIFETIME - Duration::hours(23), now));
        assert!(needs_extension(now + LIFETIME - Duration::hours(25), now));
    }
}
