//! What a resolver can ask of its context: a database connection and the viewer.

use async_graphql::Context;
use uuid::Uuid;

use crate::db::{DbConn, DbPool};
use crate::error::AppResult;

/// Who is asking: the signed-in user, if any. Put into each request's data.
#[derive(Debug, Clone, Copy, Default)]
pub struct Viewer {
    /// The signed-in user's id.
    pub user_id: Option<Uuid>,
}

/// A pooled connection for this resolver.
pub async fn conn(ctx: &Context<'_>) -> AppResult<DbConn> {
    let pool = ctx
        .data::<DbPool>()
        .expect("the server puts the pool into the schema's data");
    Ok(pool.get().await?)
}

/// The viewer of this request (anonymous when the request carries none).
pub fn viewer(ctx: &Context<'_>) -> Viewer {
    ctx.data_opt::<Viewer>().copied().unwrap_or_default()
}
