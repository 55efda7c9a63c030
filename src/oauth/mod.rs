//! Sign-in with OAuth: GitHub, Google and any OpenID Connect provider.
//!
//! The flow is the authorization code flow with PKCE (S256), a random state
//! and, for OpenID Connect, a nonce. State, verifier and nonce wait in
//! `oauth_states` for 10 minutes and are consumed once; a cookie binds the
//! state to the browser that started the sign-in.

pub mod flow;
pub mod github;
pub mod linking;
pub mod oidc;
pub mod provider;
pub mod redirect;

/// Who the provider says the user is.
#[derive(Debug, Clone)]
pub struct Identity {
    pub provider_account_id: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub image: Option<String>,
}

/// Why a sign-in failed, in words for the error page (nothing internal).
#[derive(Debug, Clone, thiserror::Error)]
pub enum OAuthError {
    #[error("This sign-in link is invalid, expired or was already used. Please start again.")]
    BadState,
    #[error("The sign-in was cancelled at the provider ({0}).")]
    Denied(String),
    #[error("The provider did not confirm the sign-in. Please start again.")]
    Exchange,
    #[error("The provider's answer could not be verified. Please start again.")]
    Verification,
    #[error("The provider is unreachable right now. Please try again later.")]
    Unreachable,
    #[error("The provider did not share an email address, which an account needs.")]
    NoEmail,
    #[error(
        "An account with this email already exists, and the provider has not verified that the email is yours. Sign in with your password instead."
    )]
    EmailTaken,
    #[error(
        "Confirm your email address first (open the link we emailed you), then link another sign-in to your account."
    )]
    LinkNeedsVerifiedEmail,
    #[error("Something went wrong. Please try again later.")]
    Internal,
    #[error("The service is briefly unavailable. Please try again in a few seconds.")]
    Unavailable,
}

impl From<crate::error::AppError> for OAuthError {
    fn from(err: crate::error::AppError) -> Self {
        match err {
            crate::error::AppError::ServiceUnavailable => Self::Unavailable,
            _ => Self::Internal,
        }
    }
}

impl From<diesel::result::Error> for OAuthError {
    fn from(err: diesel::result::Error) -> Self {
        if crate::db::availability::is_unavailable(&err) {
            tracing::warn!(error = %err, "the database cannot be reached during an OAuth sign-in");
            return Self::Unavailable;
        }
        tracing::error!(error = %err, "database error during an OAuth sign-in");
        Self::Internal
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for OAuthError {
    fn from(err: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        crate::error::AppError::from(err).into()
    }
}
