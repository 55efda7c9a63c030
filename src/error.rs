//! The one error type of request handling, and its mapping to the contract's codes.
//!
//! Rules:
//! - Resolvers return [`AppResult`]. `AppError` deliberately does not implement
//!   `Display`, so async-graphql's blanket `From<impl Display>` can never turn a
//!   database or driver error into a client-visible message: every error reaches
//!   the client through [`From<AppError> for async_graphql::Error`], which sets
//!   `extensions.code`.
//! - Internal failures are logged with their cause where they happen and reach
//!   the client as a bare `INTERNAL_SERVER_ERROR` that reveals nothing.
//! - Constraint violations become user errors in [`crate::db::constraints`].

use std::borrow::Cow;
use std::fmt::Display;

use async_graphql::ErrorExtensions;
use chrono::{DateTime, Utc};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::constraints;

/// Result of request-handling code.
pub type AppResult<T> = Result<T, AppError>;

type Text = Cow<'static, str>;

/// Why a request could not be served, in the contract's terms.
#[derive(Debug, Clone)]
pub enum AppError {
    /// No valid session, or wrong credentials.
    Unauthenticated(Text),
    /// Signed in, but not allowed to touch this object.
    Forbidden(Text),
    /// The object does not exist, or is hidden from the viewer.
    NotFound(Text),
    /// An argument is invalid; `field` names it.
    BadUserInput { field: Text, message: Text },
    /// A unique rule is broken.
    Conflict(Text),
    /// A limit is used up.
    RateLimited {
        message: Text,
        retry_after_secs: u64,
        limit: Option<u32>,
        resets_at: Option<DateTime<Utc>>,
    },
    /// A service the server depends on failed; the message names it and
    /// reveals nothing internal (code INTERNAL_SERVER_ERROR).
    Upstream(Text),
    /// The database cannot be reached right now; worth retrying after
    /// [`RETRY_AFTER_SECS`] (code SERVICE_UNAVAILABLE, HTTP 503 with `Retry-After`).
    ServiceUnavailable,
    /// Anything else; the cause was logged where it happened.
    Internal,
}

pub use crate::db::availability::RETRY_AFTER_SECS;

/// The contract's `extensions.code` values.
pub mod codes {
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const CONFLICT: &str = "CONFLICT";
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
    /// A document hash or id the server does not know (Apollo's APQ code).
    pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
    /// A document outside the manifest, on a trusted-documents-only server.
    pub const TRUSTED_DOCUMENT_REQUIRED: &str = "TRUSTED_DOCUMENT_REQUIRED";
    /// The database cannot be reached right now; retry after `retryAfter` seconds.
    pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
}

/// The message every internal error shows.
pub const INTERNAL_MESSAGE: &str = "internal server error";

/// The message of SERVICE_UNAVAILABLE: nothing about what failed or where.
pub const UNAVAILABLE_MESSAGE: &str =
    "the service is temporarily unavailable; try again in a few seconds";

impl AppError {
    /// An invalid argument.
    pub fn bad_input(field: impl Into<Text>, message: impl Into<Text>) -> Self {
        Self::BadUserInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A broken unique rule.
    pub fn conflict(message: impl Into<Text>) -> Self {
        Self::Conflict(message.into())
    }

    /// A missing or hidden object.
    pub fn not_found(what: impl Into<Text>) -> Self {
        Self::NotFound(what.into())
    }

    /// The viewer must sign in.
    pub fn unauthenticated() -> Self {
        Self::Unauthenticated("you must be signed in".into())
    }

    /// The viewer may not touch this object.
    pub fn forbidden() -> Self {
        Self::Forbidden("you are not allowed to do this".into())
    }

    /// Logs `cause` (which may hold SQL or hostnames) and hides it from the client.
    pub fn internal(context: &str, cause: impl Display) -> Self {
        tracing::error!(error = %cause, "{context}");
        Self::Internal
    }

    /// Logs `cause` and answers that the database cannot be reached right now.
    pub fn unavailable(context: &str, cause: impl Display) -> Self {
        tracing::warn!(error = %cause, "{context}");
        Self::ServiceUnavailable
    }

    /// The contract code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => codes::UNAUTHENTICATED,
            Self::Forbidden(_) => codes::FORBIDDEN,
            Self::NotFound(_) => codes::NOT_FOUND,
            Self::BadUserInput { .. } => codes::BAD_USER_INPUT,
            Self::Conflict(_) => codes::CONFLICT,
            Self::RateLimited { .. } => codes::RATE_LIMITED,
            Self::Upstream(_) | Self::Internal => codes::INTERNAL_SERVER_ERROR,
            Self::ServiceUnavailable => codes::SERVICE_UNAVAILABLE,
        }
    }

    /// The message the client sees.
    pub fn message(&self) -> &str {
        match self {
            Self::Unauthenticated(m)
            | Self::Forbidden(m)
            | Self::NotFound(m)
            | Self::Conflict(m)
            | Self::Upstream(m) => m,
            Self::BadUserInput { message, .. } | Self::RateLimited { message, .. } => message,
            Self::Internal => INTERNAL_MESSAGE,
            Self::ServiceUnavailable => UNAVAILABLE_MESSAGE,
        }
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        let message = match &err {
            AppError::BadUserInput { field, message } => format!("{field}: {message}"),
            other => other.message().to_string(),
        };
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", err.code());
            match &err {
                AppError::BadUserInput { field, .. } => ext.set("field", field.as_ref()),
                AppError::ServiceUnavailable => ext.set("retryAfter", RETRY_AFTER_SECS),
                AppError::RateLimited {
                    retry_after_secs,
                    limit,
                    resets_at,
                    ..
                } => {
                    ext.set("retryAfter", *retry_after_secs);
                    if let Some(limit) = limit {
                        ext.set("limit", *limit);
                    }
                    if let Some(resets_at) = resets_at {
                        ext.set("resetsAt", resets_at.to_rfc3339());
                    }
                }
                _ => {}
            }
        })
    }
}

impl From<constraints::Violation> for AppError {
    fn from(violation: constraints::Violation) -> Self {
        match violation {
            constraints::Violation::Conflict(message) => Self::conflict(message),
            constraints::Violation::BadInput { field, message } => Self::bad_input(field, message),
        }
    }
}

impl From<DieselError> for AppError {
    fn from(err: DieselError) -> Self {
        if crate::db::availability::is_unavailable(&err) {
            return Self::unavailable("the database cannot be reached", err);
        }
        match &err {
            DieselError::NotFound => Self::not_found("not found"),
            DieselError::DatabaseError(kind, info) => {
                if let Some(violation) = info.constraint_name().and_then(constraints::violation) {
                    return violation.into();
                }
                match kind {
                    // The row it points at vanished (e.g. deleted concurrently).
                    DatabaseErrorKind::ForeignKeyViolation => Self::not_found("not found"),
                    _ => Self::internal("database error", err),
                }
            }
            _ => Self::internal("database error", err),
        }
    }
}

impl From<crate::db::statement_budget::CapReached> for AppError {
    fn from(err: crate::db::statement_budget::CapReached) -> Self {
        Self::bad_input("query", err.to_string())
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(err: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        if crate::db::availability::pool_error_is_unavailable(&err) {
            Self::unavailable("cannot get a database connection", err)
        } else {
            Self::internal("cannot get a database connection", err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extensions(err: AppError) -> serde_json::Value {
        let gql: async_graphql::Error = err.into();
        let server = gql.into_server_error(async_graphql::Pos::default());
        serde_json::to_value(server).unwrap()["extensions"].clone()
    }

    #[test]
    fn each_variant_has_its_contract_code() {
        assert_eq!(
            extensions(AppError::unauthenticated())["code"],
            "UNAUTHENTICATED"
        );
        assert_eq!(extensions(AppError::forbidden())["code"], "FORBIDDEN");
        assert_eq!(extensions(AppError::not_found("post"))["code"], "NOT_FOUND");
        assert_eq!(extensions(AppError::conflict("taken"))["code"], "CONFLICT");
        assert_eq!(
            extensions(AppError::Internal)["code"],
            "INTERNAL_SERVER_ERROR"
        );
    }

    #[test]
    fn bad_input_names_the_field() {
        let ext = extensions(AppError::bad_input("title", "too long"));
        assert_eq!(ext["code"], "BAD_USER_INPUT");
        assert_eq!(ext["field"], "title");
    }

    #[test]
    fn rate_limited_carries_retry_after() {
        let resets_at = DateTime::parse_from_rfc3339("2026-11-23T00:00:00Z")
            .unwrap()
            .to_utc();
        let ext = extensions(AppError::RateLimited {
            message: "slow down".into(),
            retry_after_secs: 42,
            limit: Some(5),
            resets_at: Some(resets_at),
        });
        assert_eq!(ext["code"], "RATE_LIMITED");
        assert_eq!(ext["retryAfter"], 42);
        assert_eq!(ext["limit"], 5);
        assert_eq!(ext["resetsAt"], "2026-11-23T00:00:00+00:00");
    }

    #[test]
    fn an_unreachable_database_is_retryable() {
        let err = AppError::from(DieselError::DatabaseError(
            DatabaseErrorKind::UnableToSendCommand,
            Box::new("connection to 10.0.0.7:5432 closed".to_string()),
        ));
        let ext = extensions(err.clone());
        assert_eq!(ext["code"], "SERVICE_UNAVAILABLE");
        assert_eq!(ext["retryAfter"], RETRY_AFTER_SECS);
        let gql: async_graphql::Error = err.into();
        assert_eq!(gql.message, UNAVAILABLE_MESSAGE);
    }

    #[test]
    fn database_errors_reveal_nothing() {
        let err = AppError::from(DieselError::QueryBuilderError(
            "SELECT secret FROM users".into(),
        ));
        let gql: async_graphql::Error = err.into();
        assert_eq!(gql.message, INTERNAL_MESSAGE);
    }
}
