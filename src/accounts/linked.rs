//! Linked sign-in identities: listing and unlinking, never the last way in.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::accounts::Actor;
use crate::db::models::audit_event::{self, AuditKind, Origin};
use crate::db::models::oauth_account::{self, OAuthAccount};
use crate::db::models::user;
use crate::error::{AppError, AppResult};
use crate::services::Services;

/// The linked identities of `owner`, shown to `reader` (owner only).
pub async fn list(
    conn: &mut AsyncPgConnection,
    reader: Option<uuid::Uuid>,
    owner: uuid::Uuid,
) -> AppResult<Vec<OAuthAccount>> {
    crate::accounts::require_owner(reader, owner)?;
    Ok(oauth_account::for_user(conn, owner).await?)
}

/// Unlinks a provider, unless it is the last way to sign in (no password and
/// no other linked identity).
pub async fn unlink(
    services: &Services,
    origin: &Origin,
    actor: Actor,
    provider: &str,
) -> AppResult<()> {
    let mut conn = services.pool.get().await?;
    let result: AppResult<_> = async {
        let conn: &mut AsyncPgConnection = &mut conn;
        conn.transaction::<_, AppError, _>(async |conn| {
            // Locking the user serialises concurrent unlinks of its last two identities.
            let user = user::find_for_update(conn, actor.user_id).await?.ok_or_else(AppError::unauthenticated)?;
            let identities = oauth_account::for_user(conn, user.id).await?;
            let (this, others): (Vec<&OAuthAccount>, Vec<&OAuthAccount>) = identities.iter().partition(|identity| identity.provider == provider);
            if this.is_empty() {
                return Err(AppError::not_found("this provider is not linked"));
            }
            if user.password_hash.is_none() && others.is_empty() {
                return Err(AppError::bad_input(
                    "provider",
                    "this is your only way to sign in; set a password (via password reset) or link another provider first",
                ));
            }
            oauth_account::delete_for(conn, user.id, provider).await?;
            audit_event::record(conn, AuditKind::OAuthUnlinked, Some(user.id), origin).await?;
            Ok(())
        })
        .await
    }
    .await;
    conn.finish(result).await
}
