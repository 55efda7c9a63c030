//! Account operations: signing up and in, sessions, email verification,
//! password reset, and self-service (profile, export, deletion).
//!
//! These functions hold the rules; the GraphQL resolvers and the HTML pages
//! only translate to and from them. Argon2 work never runs while a pooled
//! connection is held.

pub mod credentials;
pub mod export;
pub mod linked;
pub mod profile;
pub mod recovery;
pub mod verification;

use crate::auth::session::StartedSession;
use crate::db::models::user::User;

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
