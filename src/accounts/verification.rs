//! Email verification: a 24-hour, single-use link sent on sign-up and on request.

use chrono::{Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::accounts::Actor;
use crate::auth::rate_limit::VERIFICATION_PER_USER;
use crate::auth::tokens;
use crate::db::models::audit_event::{self, AuditKind, Origin};
use crate::db::models::outbox::{self, NewEmail};
use crate::db::models::user::{self, User};
use crate::db::models::verification_token;
use crate::email::templates;
use crate::error::{AppError, AppResult};
use crate::services::Services;

/// How long a verification link works.
pub const LIFETIME: Duration = Duration::hours(24);

/// Issues a new token for `user` (voiding older ones) and queues its email.
/// Call inside the transaction that needs it; then wake the email worker.
pub async fn queue_email(
    conn: &mut AsyncPgConnection,
    services: &Services,
    user: &User,
) -> AppResult<()> {
    let (token, digest) = tokens::generate();
    let expires = Utc::now() + LIFETIME;
    verification_token::replace(conn, &user.email, &digest, expires).await?;
    let link = templates::link(services.config.app_url(), "verify-email", &token);
    let email = templates::verify_email(&link);
    outbox::enqueue(
        conn,
        &NewEmail {
            id: uuid::Uuid::now_v7(),
            user_id: Some(user.id),
            recipient: user.email.clone(),
            subject: email.subject,
            text_body: email.text,
            html_body: email.html,
            expires_at: expires,
        },
    )
    .await?;
    Ok(())
}

/// Sends a new verification link (nothing when the email is already verified).
pub async fn resend(services: &Services, actor: Actor) -> AppResult<()> {
    let mut conn = services.pool.get().await?;
    let result: AppResult<_> = async {
        let conn: &mut AsyncPgConnection = &mut conn;
        let user = user::find(conn, actor.user_id)
            .await?
            .ok_or_else(AppError::unauthenticated)?;
        if user.verified {
            return Ok(());
        }
        VERIFICATION_PER_USER
            .hit(conn, &user.id.to_string())
            .await?;
        conn.transaction::<_, AppError, _>(async |conn| queue_email(conn, services, &user).await)
            .await?;
        services.email_queued();
        Ok(())
    }
    .await;
    conn.finish(result).await
}

/// Consumes a verification token and marks its email verified.
pub async fn verify(services: &Services, origin: &Origin, token: &str) -> AppResult<User> {
    let invalid = || AppError::bad_input("token", "is invalid or has expired");
    let token = token.trim();
    if !tokens::is_acceptable(token) {
        return Err(invalid());
    }
    let digest = tokens::sha256(token);
    let mut conn = services.pool.get().await?;
    let result: AppResult<_> = async {
        let conn: &mut AsyncPgConnection = &mut conn;
        conn.transaction::<_, AppError, _>(async move |conn| {
            let email = verification_token::consume(conn, &digest)
                .await?
                .ok_or_else(invalid)?;
            let user = user::mark_verified(conn, &email)
                .await?
                .ok_or_else(invalid)?;
            audit_event::record(conn, AuditKind::EmailVerified, Some(user.id), origin).await?;
            Ok(user)
        })
        .await
    }
    .await;
    conn.finish(result).await
}
