//! Passwords and sessions: sign-up, sign-in, sign-out, password change, deletion.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::accounts::attempts::Attempt;
use crate::accounts::{Actor, SignedIn, profile, verification};
use crate::auth::rate_limit::{self, SIGN_UP_PER_IP};
use crate::auth::{email_address, password, session};
use crate::db::models::audit_event::{self, AuditKind, Origin};
use crate::db::models::session as sessions;
use crate::db::models::user::{self, NewUser, User};
use crate::db::models::verification_token;
use crate::error::{AppError, AppResult};
use crate::services::Services;

/// The one answer to every failed sign-in, whichever part was wrong.
fn wrong_credentials() -> AppError {
    AppError::Unauthenticated("invalid email or password".into())
}

/// Creates an account with a password, emails a verification link, and signs it in.
pub async fn sign_up(
    services: &Services,
    origin: &Origin,
    email: &str,
    new_password: &str,
    name: Option<&str>,
) -> AppResult<SignedIn> {
    let email = email_address::normalize(email, "email")?;
    password::validate(new_password, "password")?;
    let name = name.map(profile::display_name).transpose()?.flatten();
    if let Some(ip) = origin.ip {
        let mut conn = services.pool.get().await?;
        SIGN_UP_PER_IP
            .hit(&mut conn, &rate_limit::ip_subject(ip))
            .await?;
    }
    let password_hash = password::hash(new_password).await?;
    let mut conn = services.pool.get().await?;
    let result: AppResult<_> = async {
        let conn: &mut AsyncPgConnection = &mut conn;
        let signed_in = conn
            .transaction::<_, AppError, _>(async move |conn| {
                let new_user = NewUser {
                    id: uuid::Uuid::now_v7(),
                    email: &email,
                    name: name.as_deref(),
                    password_hash: Some(&password_hash),
                    verified: false,
                    email_verified: None,
                    image: None,
                };
                let user = user::insert(conn, &new_user).await?;
                verification::queue_email(conn, services, &user).await?;
                audit_event::record(conn, AuditKind::SignUp, Some(user.id), origin).await?;
                let started = session::start(conn, user.id).await?;
                Ok(SignedIn { started, user })
            })
            .await?;
        services.email_queued();
        Ok(signed_in)
    }
    .await;
    conn.finish(result).await
}

/// Signs in with email and password. Failures count against the client IP,
/// the email from that network, and the email from anywhere (a higher
/// ceiling), or, from a device whose `device_cookie` proves it signed in to
/// this email before, against that device alone (see [`Attempt`]); over a
/// limit the answer is RATE_LIMITED.
pub async fn sign_in(
    services: &Services,
    origin: &Origin,
    device_cookie: Option<&str>,
    email: &str,
    attempt: &str,
) -> AppResult<SignedIn> {
    if attempt.chars().count() > password::MAX_LENGTH {
        return Err(AppError::bad_input(
            "password",
            format!("must be at most {} characters", password::MAX_LENGTH),
        ));
    }
    // No account has an address that does not validate, so there is nothing
    // to guess at: answer at once, and never let such input become a counter
    // key (it would let anyone grow the counter table without limit).
    let Ok(email) = email_address::normalize(email, "email") else {
        return Err(wrong_credentials());
    };
    let counter = Attempt::new(services, &email, origin, device_cookie);
    let (user, counted) = {
        let mut conn = services.pool.get().await?;
        let found = async {
            let counted = counter.begin(&mut conn).await?;
            Ok::<_, AppError>((user::find_by_email(&mut conn, &email).await?, counted))
        }
        .await;
        // Counted before the password is checked, so parallel guesses see it.
        conn.finish(found).await?
    };
    let stored = user.as_ref().and_then(|user| user.password_hash.as_deref());
    let verdict = password::check(attempt, stored).await?;
    let upgrade = if verdict.matches && verdict.outdated {
        // A failed rehash must not fail a right password; the cause is logged.
        password::hash(attempt).await.ok()
    } else {
        None
    };
    let mut conn = services.pool.get().await?;
    let result: AppResult<_> = async {
        let conn: &mut AsyncPgConnection = &mut conn;
        let Some(mut user) = user.filter(|_| verdict.matches) else {
            audit_event::record(conn, AuditKind::SignInFailed, None, origin).await?;
            return Err(wrong_credentials());
        };
        counter.succeeded(conn, counted).await?;
        conn.transaction::<_, AppError, _>(async move |conn| {
            if let (Some(old), Some(new)) = (user.password_hash.clone(), upgrade) {
                upgrade_hash(conn, &mut user, &old, new).await?;
            }
            audit_event::record(conn, AuditKind::SignIn, Some(user.id), origin).await?;
            let started = session::start(conn, user.id).await?;
            Ok(SignedIn { started, user })
        })
        .await
    }
    .await;
    conn.finish(result).await
}

/// Replaces an outdated hash (bcrypt from the imported app, or weaker argon2)
/// with argon2id of the password just proven right, unless the hash changed
/// since it was read (a reset or a change won the race: theirs stays).
async fn upgrade_hash(
    conn: &mut AsyncPgConnection,
    user: &mut User,
    old: &str,
    new: String,
) -> AppResult<()> {
    if user::replace_password_hash(conn, user.id, old, &new).await? {
        tracing::info!(user_id = %user.id, "upgraded a password hash to argon2id");
        user.password_hash = Some(new);
    }
    Ok(())
}

/// Ends the actor's current session.
pub async fn sign_out(services: &Services, origin: &Origin, actor: Actor) -> AppResult<()> {
    let mut conn = services.pool.get().await?;
    let result: AppResult<_> = async {
        sessions::delete(&mut conn, actor.session_id).await?;
        audit_event::record(&mut conn, AuditKind::SignOut, Some(actor.user_id), origin).await?;
        Ok(())
    }
    .await;
    conn.finish(result).await
}

/// Ends every session of the actor.
pub async fn sign_out_everywhere(
    services: &Services,
    origin: &Origin,
    actor: Actor,
) -> AppResult<()> {
    let mut conn = services.pool.get().await?;
    let result: AppResult<_> = async {
        sessions::delete_all_for_user(&mut conn, actor.user_id, None).await?;
        audit_event::record(
            &mut conn,
            AuditKind::SignOutEverywhere,
            Some(actor.user_id),
            origin,
        )
        .await?;
        Ok(())
    }
    .await;
    conn.finish(result).await
}

/// Checks the actor's password (failures count like failed sign-ins).
/// BAD_USER_INPUT naming `field` when the account has no password.
async fn check_password(
    services: &Services,
    origin: &Origin,
    device_cookie: Option<&str>,
    user: &User,
    attempt: &str,
    field: &'static str,
) -> AppResult<()> {
    let Some(stored) = user.password_hash.as_deref() else {
        return Err(AppError::bad_input(field, "this account has no password"));
    };
    if attempt.chars().count() > password::MAX_LENGTH {
        return Err(AppError::Unauthenticated(
            "the password is incorrect".into(),
        ));
    }
    let counter = Attempt::new(services, &user.email, origin, device_cookie);
    let counted = {
        let mut conn = services.pool.get().await?;
        counter.begin(&mut conn).await?
    };
    if password::verify(attempt, Some(stored)).await? {
        let mut conn = services.pool.get().await?;
        counter.succeeded(&mut conn, counted).await?;
        return Ok(());
    }
    Err(AppError::Unauthenticated(
        "the password is incorrect".into(),
    ))
}

async fn load_actor(services: &Services, actor: Actor) -> AppResult<User> {
    let mut conn = services.pool.get().await?;
    user::find(&mut conn, actor.user_id)
        .await?
        .ok_or_else(AppError::unauthenticated)
}

/// Changes the password after checking the current one; every other session ends.
pub async fn change_password(
    services: &Services,
    origin: &Origin,
    device_cookie: Option<&str>,
    actor: Actor,
    current: &str,
    new_password: &str,
) -> AppResult<()> {
    password::validate(new_password, "newPassword")?;
    let user = load_actor(services, actor).await?;
    check_password(
        services,
        origin,
        device_cookie,
        &user,
        current,
        "currentPassword",
    )
    .await?;
    let password_hash = password::hash(new_password).await?;
    let mut conn = services.pool.get().await?;
    let result: AppResult<_> = async {
        let conn: &mut AsyncPgConnection = &mut conn;
        conn.transaction::<_, AppError, _>(async move |conn| {
            user::set_password(conn, actor.user_id, &password_hash).await?;
            sessions::delete_all_for_user(conn, actor.user_id, Some(actor.session_id)).await?;
            audit_event::record(
                conn,
                AuditKind::PasswordChanged,
                Some(actor.user_id),
                origin,
            )
            .await?;
            Ok(())
        })
        .await
    }
    .await;
    conn.finish(result).await
}

/// Erases the account and everything it owns. Accounts with a password must give it.
pub async fn delete_account(
    services: &Services,
    origin: &Origin,
    device_cookie: Option<&str>,
    actor: Actor,
    password: Option<&str>,
) -> AppResult<()> {
    let user = load_actor(services, actor).await?;
    if user.password_hash.is_some() {
        let attempt = password
            .ok_or_else(|| AppError::bad_input("password", "is required to delete this account"))?;
        check_password(services, origin, device_cookie, &user, attempt, "password").await?;
    }
    let mut conn = services.pool.get().await?;
    let result: AppResult<_> = async {
        let conn: &mut AsyncPgConnection = &mut conn;
        conn.transaction::<_, AppError, _>(async move |conn| {
            verification_token::delete_for(conn, &user.email).await?;
            user::delete(conn, user.id).await?;
            // Kept without a user: the trail shows an account was erased, not whose.
            audit_event::record(conn, AuditKind::AccountDeleted, None, origin).await?;
            Ok(())
        })
        .await
    }
    .await;
    conn.finish(result).await
}
