//! Password reset by email: a one-hour, single-use link.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::accounts::{SignedIn, attempts};
use crate::auth::rate_limit::RESET_PER_EMAIL;
use crate::auth::{email_address, password, session, tokens};
use crate::db::models::audit_event::{self, AuditKind, Origin};
use crate::db::models::oauth_account;
use crate::db::models::password_reset::{self, ResetRequest};
use crate::db::models::session as sessions;
use crate::db::models::user;
use crate::email::templates;
use crate::error::{AppError, AppResult};
use crate::services::Services;

/// Emails a reset link when `email` has an account. The caller always answers
/// true: the answer, and its timing, say nothing about whether it has one.
pub async fn request(services: &Services, origin: &Origin, email: &str) -> AppResult<()> {
    let Ok(email) = email_address::normalize(email, "email") else {
        return Ok(());
    };
    let mut conn = services.pool.get().await?;
    let result: AppResult<_> = async {
        RESET_PER_EMAIL.hit(&mut conn, &email).await?;
        let (token, digest) = tokens::generate();
        let link = templates::link(services.config.app_url(), "reset-password", &token);
        let message = templates::reset_password(&link);
        let issued = password_reset::request(
            &mut conn,
            &ResetRequest {
                email: &email,
                token_sha256: &digest,
                subject: &message.subject,
                text_body: &message.text,
                html_body: &message.html,
                ip: origin.ip.map(ipnet::IpNet::from),
                user_agent: origin.user_agent.as_deref(),
            },
        )
        .await?;
        if issued {
            services.email_queued();
        }
        Ok(())
    }
    .await;
    conn.finish(result).await
}

/// Sets a new password from a reset token, ends every session of the user,
/// and starts a new one. Reaching the email also proves the address, and
/// unlinks the identities linked before it was proven; the failed sign-ins
/// that strangers piled on the email are forgotten.
pub async fn reset(
    services: &Services,
    origin: &Origin,
    token: &str,
    new_password: &str,
) -> AppResult<SignedIn> {
    password::validate(new_password, "newPassword")?;
    let token = token.trim();
    if !tokens::is_acceptable(token) {
        return Err(AppError::bad_input("token", "is invalid, used or expired"));
    }
    let digest = tokens::sha256(token);
    // Argon2 only for a live token: bogus tokens must not tie up the hasher.
    {
        let mut conn = services.pool.get().await?;
        if !password_reset::is_live(&mut conn, &digest).await? {
            return Err(AppError::bad_input("token", "is invalid, used or expired"));
        }
    }
    let password_hash = password::hash(new_password).await?;
    let mut conn = services.pool.get().await?;
    let result: AppResult<_> = async {
        let conn: &mut AsyncPgConnection = &mut conn;
        conn.transaction::<_, AppError, _>(async move |conn| {
            let invalid = || AppError::bad_input("token", "is invalid, used or expired");
            let user_id = password_reset::consume(conn, &digest)
                .await?
                .ok_or_else(invalid)?;
            user::set_password(conn, user_id, &password_hash).await?;
            let before = user::find(conn, user_id).await?.ok_or_else(invalid)?;
            // Identities linked before anyone proved the email may be someone
            // else's (whoever registered the address first); the owner just proved it.
            oauth_account::delete_linked_before_verification(conn, user_id).await?;
            let user = user::mark_verified(conn, &before.email)
                .await?
                .ok_or_else(invalid)?;
            sessions::delete_all_for_user(conn, user_id, None).await?;
            attempts::forget_failures(conn, &user.email, origin).await?;
            audit_event::record(conn, AuditKind::PasswordReset, Some(user_id), origin).await?;
            let started = session::start(conn, user_id).await?;
            Ok(SignedIn { started, user })
        })
        .await
    }
    .await;
    conn.finish(result).await
}
