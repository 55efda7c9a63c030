//! The `audit_events` table: the security audit trail.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ipnet::IpNet;
use uuid::Uuid;

use crate::db::schema::audit_events;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    SignUp,
    SignIn,
    SignInFailed,
    SignOut,
    SignOutEverywhere,
    PasswordChanged,
    PasswordResetRequested,
    PasswordReset,
    EmailVerified,
    AccountDeleted,
    OAuthSignIn,
    OAuthSignUp,
    OAuthLinked,
    OAuthFailed,
    OAuthUnlinked,
}

impl AuditKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignUp => "sign_up",
            Self::SignIn => "sign_in",
            Self::SignInFailed => "sign_in_failed",
            Self::SignOut => "sign_out",
            Self::SignOutEverywhere => "sign_out_everywhere",
            Self::PasswordChanged => "password_changed",
            Self::PasswordResetRequested => "password_reset_requested",
            Self::PasswordReset => "password_reset",
            Self::EmailVerified => "email_verified",
            Self::AccountDeleted => "account_deleted",
            Self::OAuthSignIn => "oauth_sign_in",
            Self::OAuthSignUp => "oauth_sign_up",
            Self::OAuthLinked => "oauth_linked",
            Self::OAuthFailed => "oauth_failed",
            Self::OAuthUnlinked => "oauth_unlinked",
        }
    }
}

/// Where a request came from.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: Option<String>,
}

/// Writes one event (any kind other than free text keeps the trail queryable).
pub async fn record(
    conn: &mut AsyncPgConnection,
    kind: AuditKind,
    user_id: Option<Uuid>,
    origin: &Origin,
) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(Uuid::now_v7()),
            audit_events::user_id.eq(user_id),
            audit_events::kind.eq(kind.as_str()),
            audit_events::ip.eq(origin.ip.map(IpNet::from)),
            audit_events::user_agent.eq(origin.user_agent.as_deref()),
        ))
        .execute(conn)
        .await
        .map(drop)
}
