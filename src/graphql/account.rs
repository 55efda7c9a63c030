//! Account operations: sign-up and sign-in, sessions, verification, password
//! reset, profile, export and deletion.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, SimpleObject};
use axum::http::header::SET_COOKIE;
use chrono::{DateTime, Utc};

use crate::accounts::profile::{Patch, ProfileEdit};
use crate::accounts::{self, SignedIn};
use crate::db::enums::ExperienceLevel;
use crate::db::models::oauth_account::OAuthAccount;
use crate::error::AppResult;
use crate::graphql::json::JsonDocument;
use crate::graphql::user::User;
use crate::graphql::{context, limits};

/// A new session.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// The session token, for `Authorization: Bearer`
    token: String,
    expires_at: DateTime<Utc>,
    user: User,
}

#[derive(InputObject)]
pub struct SignUpInput {
    email: String,
    password: String,
    name: Option<String>,
}

/// Only the fields given are changed
#[derive(InputObject)]
pub struct ProfileInput {
    name: MaybeUndefined<String>,
    image: MaybeUndefined<String>,
    current_role: MaybeUndefined<String>,
    experience_level: MaybeUndefined<ExperienceLevel>,
    industry: MaybeUndefined<String>,
    years_of_experience: MaybeUndefined<i32>,
    current_skills: MaybeUndefined<Vec<String>>,
    target_skills: MaybeUndefined<Vec<String>>,
    bio: MaybeUndefined<String>,
    current_goals: MaybeUndefined<Vec<String>>,
}

fn patch<T>(value: MaybeUndefined<T>) -> Patch<T> {
    match value {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(value) => Patch::Set(value),
    }
}

impl From<ProfileInput> for ProfileEdit {
    fn from(input: ProfileInput) -> Self {
        Self {
            name: patch(input.name),
            image: patch(input.image),
            current_role: patch(input.current_role),
            experience_level: patch(input.experience_level),
            industry: patch(input.industry),
            years_of_experience: patch(input.years_of_experience),
            current_skills: patch(input.current_skills),
            target_skills: patch(input.target_skills),
            bio: patch(input.bio),
            current_goals: patch(input.current_goals),
        }
    }
}

/// Sets the session cookie and a fresh device cookie (the client just proved
/// the password, or set it), and returns the payload, whose user is the viewer.
fn signed_in(ctx: &Context<'_>, signed_in: SignedIn) -> AuthPayload {
    context::session_started(ctx, signed_in.user.id);
    let services = context::services(ctx);
    ctx.append_http_header(
        SET_COOKIE,
        services
            .cookies
            .set(&signed_in.started.token, signed_in.started.session.expires),
    );
    ctx.append_http_header(
        SET_COOKIE,
        services
            .cookies
            .set_device(&services.devices.issue(&signed_in.user.email)),
    );
    AuthPayload {
        token: signed_in.started.token,
        expires_at: signed_in.started.session.expires,
        user: signed_in.user.into(),
    }
}

fn clear_cookie(ctx: &Context<'_>) {
    ctx.append_http_header(SET_COOKIE, context::services(ctx).cookies.clear());
}

/// A sign-in identity linked to the account.
#[derive(SimpleObject)]
pub struct LinkedAccount {
    /// `github`, `google`, or the configured OpenID Connect provider's name
    provider: String,
    provider_account_id: String,
    created_at: DateTime<Utc>,
}

impl From<OAuthAccount> for LinkedAccount {
    fn from(identity: OAuthAccount) -> Self {
        Self {
            provider: identity.provider,
            provider_account_id: identity.provider_account_id,
            created_at: identity.created_at,
        }
    }
}

/// Account queries.
#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// Everything the viewer owns, as one JSON document (data portability)
    #[graphql(complexity = "limits::MAX_COMPLEXITY / 2 + 1")]
    async fn export_my_data(&self, ctx: &Context<'_>) -> AppResult<JsonDocument> {
        let actor = context::viewer(ctx).actor()?;
        let text = accounts::export::document(context::services(ctx), actor.user_id).await?;
        JsonDocument::parse(&text)
    }
}

/// Account mutations.
#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates the account, signs it in, and emails a verification link
    async fn sign_up(&self, ctx: &Context<'_>, input: SignUpInput) -> AppResult<AuthPayload> {
        let services = context::services(ctx);
        let done = accounts::credentials::sign_up(
            services,
            context::origin(ctx),
            &input.email,
            &input.password,
            input.name.as_deref(),
        )
        .await?;
        Ok(signed_in(ctx, done))
    }

    /// UNAUTHENTICATED with the same message whether the email or the password is wrong
    async fn sign_in(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> AppResult<AuthPayload> {
        let done = accounts::credentials::sign_in(
            context::services(ctx),
            context::origin(ctx),
            context::device_cookie(ctx),
            &email,
            &password,
        )
        .await?;
        Ok(signed_in(ctx, done))
    }

    /// Ends the current session
    async fn sign_out(&self, ctx: &Context<'_>) -> AppResult<bool> {
        clear_cookie(ctx);
        let actor = context::viewer(ctx).actor()?;
        accounts::credentials::sign_out(context::services(ctx), context::origin(ctx), actor)
            .await?;
        Ok(true)
    }

    /// Ends every session of the viewer
    async fn sign_out_everywhere(&self, ctx: &Context<'_>) -> AppResult<bool> {
        clear_cookie(ctx);
        let actor = context::viewer(ctx).actor()?;
        accounts::credentials::sign_out_everywhere(
            context::services(ctx),
            context::origin(ctx),
            actor,
        )
        .await?;
        Ok(true)
    }

    async fn verify_email(&self, ctx: &Context<'_>, token: String) -> AppResult<User> {
        let user =
            accounts::verification::verify(context::services(ctx), context::origin(ctx), &token)
                .await?;
        Ok(user.into())
    }

    async fn resend_verification_email(&self, ctx: &Context<'_>) -> AppResult<bool> {
        let actor = context::viewer(ctx).actor()?;
        accounts::verification::resend(context::services(ctx), actor).await?;
        Ok(true)
    }

    /// Always true, whether or not the email belongs to an account
    async fn request_password_reset(&self, ctx: &Context<'_>, email: String) -> AppResult<bool> {
        accounts::recovery::request(context::services(ctx), context::origin(ctx), &email).await?;
        Ok(true)
    }

    /// Single use, valid for one hour; ends every other session of the user
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        token: String,
        new_password: String,
    ) -> AppResult<AuthPayload> {
        let done = accounts::recovery::reset(
            context::services(ctx),
            context::origin(ctx),
            &token,
            &new_password,
        )
        .await?;
        Ok(signed_in(ctx, done))
    }

    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> AppResult<bool> {
        let actor = context::viewer(ctx).actor()?;
        accounts::credentials::change_password(
            context::services(ctx),
            context::origin(ctx),
            context::device_cookie(ctx),
            actor,
            &current_password,
            &new_password,
        )
        .await?;
        Ok(true)
    }

    async fn update_profile(&self, ctx: &Context<'_>, input: ProfileInput) -> AppResult<User> {
        let actor = context::viewer(ctx).actor()?;
        let user =
            accounts::profile::update(context::services(ctx), actor.user_id, input.into()).await?;
        Ok(user.into())
    }

    /// Unlinks a sign-in provider; refused when it is the last way to sign in
    async fn unlink_account(&self, ctx: &Context<'_>, provider: String) -> AppResult<bool> {
        let actor = context::viewer(ctx).actor()?;
        accounts::linked::unlink(
            context::services(ctx),
            context::origin(ctx),
            actor,
            &provider,
        )
        .await?;
        Ok(true)
    }

    /// Erases the account and everything it owns. A password is required when the account has one
    async fn delete_account(&self, ctx: &Context<'_>, password: Option<String>) -> AppResult<bool> {
        let actor = context::viewer(ctx).actor()?;
        accounts::credentials::delete_account(
            context::services(ctx),
            context::origin(ctx),
            context::device_cookie(ctx),
            actor,
            password.as_deref(),
        )
        .await?;
        clear_cookie(ctx);
        Ok(true)
    }
}
