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
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub user_id: uuid::Uuid,
    pub session_id: uuid::Uuid,
}
