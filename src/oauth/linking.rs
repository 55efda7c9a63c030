//! Which user an identity signs into, as Auth.js keeps accounts:
//! - a known identity signs into its user;
//! - a signed-in user who completes a sign-in links the new identity to
//!   themselves, but only once their email is verified (otherwise whoever
//!   registered someone else's address could attach their own way in);
//! - a new identity whose email the provider verified links to the user with
//!   that email (if that user never verified it, its password, sessions and
//!   other identities are removed first: they belong to whoever claimed it);
//! - an unverified email never links: it makes a new user when the email is
//!   free, and is refused when an account already has it.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::accounts::profile;
use crate::auth::email_address;
use crate::db::models::audit_event::AuditKind;
use crate::db::models::oauth_account::{self, OAuthTokens};
use crate::db::models::user::{self, NewUser, User};
use crate::oauth::{Identity, OAuthError};

/// The user an identity signed into, and how.
pub struct Linked {
    pub user: User,
    pub outcome: AuditKind,
}

/// Finds or creates the user of `identity` in one transaction.
pub async fn link(
    conn: &mut AsyncPgConnection,
    provider: &str,
    identity: &Identity,
    tokens: &OAuthTokens,
    signed_in_as: Option<Uuid>,
) -> Result<Linked, OAuthError> {
    conn.transaction::<_, OAuthError, _>(async |conn| {
        if let Some(linked) =
            oauth_account::find(conn, provider, &identity.provider_account_id).await?
        {
            oauth_account::set_tokens(conn, linked.id, tokens).await?;
            let user = user::find(conn, linked.user_id)
                .await?
                .ok_or(OAuthError::Internal)?;
            return Ok(Linked {
                user,
                outcome: AuditKind::OAuthSignIn,
            });
        }
        if let Some(user_id) = signed_in_as {
            let user = user::find(conn, user_id)
                .await?
                .ok_or(OAuthError::Internal)?;
            if !user.verified {
                return Err(OAuthError::LinkNeedsVerifiedEmail);
            }
            oauth_account::insert(
                conn,
                user.id,
                provider,
                &identity.provider_account_id,
                tokens,
            )
            .await?;
            return Ok(Linked {
                user,
                outcome: AuditKind::OAuthLinked,
            });
        }
        let email = identity
            .email
            .as_deref()
            .and_then(|email| email_address::normalize(email, "email").ok())
            .ok_or(OAuthError::NoEmail)?;
        if let Some(existing) = user::find_by_email(conn, &email).await? {
            if !identity.email_verified {
                return Err(OAuthError::EmailTaken);
            }
            if !existing.verified {
                // Whoever made this account never proved the address; the
                // provider just did. Their password, sessions and identities
                // go, or they could read what the owner writes from now on.
                user::clear_credentials(conn, existing.id).await?;
            }
            oauth_account::insert(
                conn,
                existing.id,
                provider,
                &identity.provider_account_id,
                tokens,
            )
            .await?;
            let user = user::mark_verified(conn, &email)
                .await?
                .ok_or(OAuthError::Internal)?;
            return Ok(Linked {
                user,
                outcome: AuditKind::OAuthLinked,
            });
        }
        // The provider's profile passes the rules `updateProfile` applies.
        let name = profile::provider_name(identity.name.as_deref());
        let image = profile::provider_image(identity.image.as_deref());
        let new_user = NewUser {
            id: Uuid::now_v7(),
            email: &email,
            name: name.as_deref(),
            password_hash: None,
            verified: false,
            email_verified: None,
            image: image.as_deref(),
        };
        let mut user = user::insert(conn, &new_user).await?;
        oauth_account::insert(
            conn,
            user.id,
            provider,
            &identity.provider_account_id,
            tokens,
        )
        .await?;
        if identity.email_verified {
            // Verified by the database clock, in this transaction: the same
            // instant as the account's `created_at`, so a later password
            // reset never takes this identity for one linked before the
            // address was proven.
            user = user::mark_verified(conn, &email)
                .await?
                .ok_or(OAuthError::Internal)?;
        }
        Ok(Linked {
            user,
            outcome: AuditKind::OAuthSignUp,
        })
    })
    .await
}
