//! The `password_resets` table: single-use, one-hour reset tokens.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::password_resets;

/// Voids every unused token of the user, then issues a new one.
pub async fn issue(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    token_sha256: &[u8],
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(password_resets::table)
        .filter(password_resets::user_id.eq(user_id))
        .filter(password_resets::used.eq(false))
        .set(password_resets::used.eq(true))
        .execute(conn)
        .await?;
    diesel::insert_into(password_resets::table)
        .values((
            password_resets::id.eq(Uuid::now_v7()),
            password_resets::user_id.eq(user_id),
            password_resets::token_sha256.eq(token_sha256),
            password_resets::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Marks an unused, unexpired token used and returns its user, all in one
/// statement: of two concurrent uses, only one can win.
pub async fn consume(
    conn: &mut AsyncPgConnection,
    token_sha256: &[u8],
) -> QueryResult<Option<Uuid>> {
    diesel::update(password_resets::table)
        .filter(password_resets::token_sha256.eq(token_sha256))
        .filter(password_resets::used.eq(false))
        .filter(password_resets::expires_at.gt(diesel::dsl::now))
        .set(password_resets::used.eq(true))
        .returning(password_resets::user_id)
        .get_result(conn)
        .await
        .optional()
}

/// Whether an unused, unexpired token hashes to `token_sha256` (consumes nothing).
pub async fn is_live(conn: &mut AsyncPgConnection, token_sha256: &[u8]) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        password_resets::table
            .filter(password_resets::token_sha256.eq(token_sha256))
            .filter(password_resets::used.eq(false))
            .filter(password_resets::expires_at.gt(diesel::dsl::now)),
    ))
    .get_result(conn)
    .await
}

/// Removes tokens that can no longer be used; returns how many.
pub async fn delete_spent(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::delete(
        password_resets::table.filter(
            password_resets::used
                .eq(true)
                .or(password_resets::expires_at.le(diesel::dsl::now)),
        ),
    )
    .execute(conn)
    .await
}

/// A reset request, ready to be written.
pub struct ResetRequest<'a> {
    pub email: &'a str,
    pub token_sha256: &'a [u8],
    pub subject: &'a str,
    pub text_body: &'a str,
    pub html_body: &'a str,
    pub ip: Option<ipnet::IpNet>,
    pub user_agent: Option<&'a str>,
}

#[derive(diesel::QueryableByName)]
struct Issued {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    issued: i64,
}

/// Voids the account's older tokens, issues a one-hour token, queues its email
/// and audits the request, in one statement that does the same work whether or
/// not the email has an account (so its timing tells nothing). True when it has.
pub async fn request(
    conn: &mut AsyncPgConnection,
    request: &ResetRequest<'_>,
) -> QueryResult<bool> {
    use diesel::sql_types::{Bytea, Inet, Nullable, Text};
    diesel::sql_query(
        "WITH u AS (SELECT id, email FROM users WHERE email = $1),
              voided AS (UPDATE password_resets SET used = true
                         WHERE user_id IN (SELECT id FROM u) AND NOT used),
              issued AS (INSERT INTO password_resets (user_id, token_sha256, expires_at)
                         SELECT id, $2, now() + interval '1 hour' FROM u),
              mail AS (INSERT INTO email_outbox (user_id, recipient, subject, text_body, html_body, expires_at)
                       SELECT id, email, $3, $4, $5, now() + interval '1 hour' FROM u),
              audit AS (INSERT INTO audit_events (user_id, kind, ip, user_agent)
                        SELECT id, $8, $6, $7 FROM u)
         SELECT count(*) AS issued FROM u",
    )
    .bind::<Text, _>(request.email)
    .bind::<Bytea, _>(request.token_sha256)
    .bind::<Text, _>(request.subject)
    .bind::<Text, _>(request.text_body)
    .bind::<Text, _>(request.html_body)
    .bind::<Nullable<Inet>, _>(request.ip)
    .bind::<Nullable<Text>, _>(request.user_agent)
    .bind::<Text, _>(crate::db::models::audit_event::AuditKind::PasswordResetRequested.as_str())
    .get_result::<Issued>(conn)
    .await
    .map(|row| row.issued > 0)
}
