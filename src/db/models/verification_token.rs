//! The `verification_tokens` table: single-use email verification tokens.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::verification_tokens;

/// Replaces any earlier token of `identifier` with a new one.
pub async fn replace(
    conn: &mut AsyncPgConnection,
    identifier: &str,
    token_sha256: &[u8],
    expires: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::delete(
        verification_tokens::table.filter(verification_tokens::identifier.eq(identifier)),
    )
    .execute(conn)
    .await?;
    diesel::insert_into(verification_tokens::table)
        .values((
            verification_tokens::identifier.eq(identifier),
            verification_tokens::token_sha256.eq(token_sha256),
            verification_tokens::expires.eq(expires),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Consumes an unexpired token in one statement (so it is used at most once)
/// and returns the identifier (email) it was issued for.
pub async fn consume(
    conn: &mut AsyncPgConnection,
    token_sha256: &[u8],
) -> QueryResult<Option<String>> {
    diesel::delete(
        verification_tokens::table
            .filter(verification_tokens::token_sha256.eq(token_sha256))
            .filter(verification_tokens::expires.gt(diesel::dsl::now)),
    )
    .returning(verification_tokens::identifier)
    .get_result(conn)
    .await
    .optional()
}

/// Removes every token of an identifier (when its account goes away).
pub async fn delete_for(conn: &mut AsyncPgConnection, identifier: &str) -> QueryResult<usize> {
    diesel::delete(
        verification_tokens::table.filter(verification_tokens::identifier.eq(identifier)),
    )
    .execute(conn)
    .await
}

/// Removes expired tokens; returns how many.
pub async fn delete_expired(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::delete(
        verification_tokens::table.filter(verification_tokens::expires.le(diesel::dsl::now)),
    )
    .execute(conn)
    .await
}
