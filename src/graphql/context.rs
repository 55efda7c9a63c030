//! What a resolver can ask of its context: services, a connection, the viewer.

use std::sync::Arc;

use async_graphql::{Context, ContextBase};
use uuid::Uuid;

use crate::accounts::Viewer;
use crate::db::models::audit_event::Origin;
use crate::db::statement_budget;
use crate::db::{DbConn, DbPool};
use crate::error::AppResult;
use crate::services::Services;

/// The users who got a session during this request (`signUp`, `signIn`,
/// `resetPassword`). The session's token is in the same response, so its user
/// is the viewer of the payload and sees what only the viewer sees. Put into
/// each request's data (one per operation of a batch).
#[derive(Debug, Default)]
pub struct SessionsStarted(std::sync::Mutex<Vec<Uuid>>);

impl SessionsStarted {
    /// The users who got a session.
    pub fn users(&self) -> Vec<Uuid> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Records that `user_id` got a session in this request.
pub fn session_started(ctx: &Context<'_>, user_id: Uuid) {
    if let Some(started) = ctx.data_opt::<Arc<SessionsStarted>>() {
        started
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(user_id);
    }
}

/// The user a `User` object's private fields are shown to: its own user when
/// they got a session in this request (the payload of `signUp`, `signIn`,
/// `resetPassword`), else the request's viewer. The domain decides what
/// that reader may see.
pub fn reader(ctx: &Context<'_>, user_id: Uuid) -> Option<Uuid> {
    let started_here = ctx
        .data_opt::<Arc<SessionsStarted>>()
        .is_some_and(|started| {
            started
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .contains(&user_id)
        });
    if started_here {
        Some(user_id)
    } else {
        viewer(ctx).user_id()
    }
}

/// The device cookie a request carried, unchecked: sign-in checks it against
/// the email (see [`crate::auth::device`]). Put into each HTTP request's data.
#[derive(Debug, Clone, Default)]
pub struct DeviceCookie(pub Option<String>);

/// The device cookie this request carried, if any.
pub fn device_cookie<'a>(ctx: &Context<'a>) -> Option<&'a str> {
    ctx.data_opt::<DeviceCookie>()
        .and_then(|cookie| cookie.0.as_deref())
}

/// The server's services.
pub fn services<'a>(ctx: &Context<'a>) -> &'a Services {
    ctx.data::<Services>()
        .expect("the server puts its services into the schema's data")
}

/// A pooled connection for this resolver's reads: from the request's
/// [`ReadPool`] (a replica, for a request that only reads) or the primary.
pub async fn conn(ctx: &Context<'_>) -> AppResult<DbConn> {
    match ctx.data_opt::<ReadPool>() {
        Some(ReadPool(pool)) => checkout(pool).await,
        None => checkout(&services(ctx).pool).await,
    }
}

/// The pool a request's reads use, in its data when that is a replica.
pub struct ReadPool(pub DbPool);

/// A pooled connection for a request's reads, unless the request has run its
/// statement cap.
pub async fn checkout(pool: &DbPool) -> AppResult<DbConn> {
    statement_budget::check()?;
    let conn = pool.get().await?;
    // A checkout may wait (behind a transaction pooler it takes a round
    // trip): loads that set out together may have spent the budget meanwhile.
    statement_budget::check()?;
    Ok(conn)
}

/// The viewer of this request (anonymous when the request carries none).
pub fn viewer(ctx: &Context<'_>) -> Viewer {
    ctx.data_opt::<Viewer>().copied().unwrap_or_default()
}

/// Where this request came from (for the audit trail and rate limits).
pub fn origin<'a>(ctx: &Context<'a>) -> &'a Origin {
    static UNKNOWN: Origin = Origin {
        ip: None,
        user_agent: None,
    };
    ctx.data_opt::<Origin>().unwrap_or(&UNKNOWN)
}

/// The request's DataLoaders.
pub fn loaders<'a, T>(ctx: &ContextBase<'a, T>) -> &'a crate::graphql::loaders::Loaders {
    ctx.data::<std::sync::Arc<crate::graphql::loaders::Loaders>>()
        .expect("the HTTP layer puts loaders into every request")
}
