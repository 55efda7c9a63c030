//! Account operations: signing up and in, sessions, email verification,
//! password reset, and self-service (profile, export, deletion).
//!
//! These functions hold the rules; the GraphQL resolvers and the HTML pages
//! only translate to and from them. Argon2 work never runs while a pooled
//! connection is held.

pub mod attempts;
pub mod credentials;
pub mod export;
pub mod linked;
pub mod profile;
pub mod read_your_writes;
pub mod recovery;
pub mod verification;

use crate::auth::session::StartedSession;
use crate::db::models::user::{self, User};

/// A user who just got a session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub started: StartedSession,
    pub user: User,
}

/// Who is acting: the signed-in user and the session they act through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: uuid::Uuid,
    pub session_id: uuid::Uuid,
}

/// The rule for everything private to a user (goals, stories, linked
/// accounts): only `reader`, the user the data is shown to, when it is
/// `owner`. UNAUTHENTICATED for nobody, FORBIDDEN for anyone else.
pub fn require_owner(reader: Option<uuid::Uuid>, owner: uuid::Uuid) -> crate::error::AppResult<()> {
    match reader {
        Some(reader) if reader == owner => Ok(()),
        Some(_) => Err(crate::error::AppError::forbidden()),
        None => Err(crate::error::AppError::unauthenticated()),
    }
}

/// The email of user `owner`, shown only to that user.
pub fn visible_email(reader: Option<uuid::Uuid>, owner: uuid::Uuid, email: &str) -> Option<&str> {
    (reader == Some(owner)).then_some(email)
}

/// A user by id (profiles are public; private fields have rules of their own).
pub async fn find_user(
    conn: &mut diesel_async::AsyncPgConnection,
    id: uuid::Uuid,
) -> crate::error::AppResult<Option<User>> {
    Ok(user::find(conn, id).await?)
}

/// Users by id, in no particular order (for DataLoaders; profiles are public).
pub async fn find_users(
    conn: &mut diesel_async::AsyncPgConnection,
    ids: &[uuid::Uuid],
) -> crate::error::AppResult<Vec<User>> {
    Ok(user::find_many(conn, ids).await?)
}

/// The cards of users by id (id, name and image), for DataLoaders.
pub async fn find_user_cards(
    conn: &mut diesel_async::AsyncPgConnection,
    ids: &[uuid::Uuid],
) -> crate::error::AppResult<Vec<crate::db::models::user::UserCard>> {
    Ok(user::find_cards(conn, ids).await?)
}

/// The user who had `legacy_id` in the Next.js app, if they were imported.
pub async fn user_id_for_legacy(
    conn: &mut diesel_async::AsyncPgConnection,
    legacy_id: &str,
) -> crate::error::AppResult<Option<uuid::Uuid>> {
    use crate::db::models::legacy_id::{self, model};
    Ok(legacy_id::resolve(conn, model::USER, legacy_id).await?)
}

/// Who is asking: a signed-in actor, or nobody. (A user without a session,
/// or a session without a user, cannot be expressed.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Viewer(Option<Actor>);

impl Viewer {
    /// Nobody signed in.
    pub const ANONYMOUS: Self = Self(None);

    /// A viewer signed in as `actor`.
    pub fn signed_in(actor: Actor) -> Self {
        Self(Some(actor))
    }

    /// The signed-in user's id.
    pub fn user_id(&self) -> Option<uuid::Uuid> {
        self.0.map(|actor| actor.user_id)
    }

    /// The signed-in actor, or UNAUTHENTICATED.
    pub fn actor(&self) -> crate::error::AppResult<Actor> {
        self.0.ok_or_else(crate::error::AppError::unauthenticated)
    }
}
