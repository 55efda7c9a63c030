//! The `oauth_states` table: pending OAuth sign-ins, 10 minutes, single use.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::oauth_states;

/// A pending sign-in.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_states, check_for_backend(diesel::pg::Pg))]
pub struct OAuthState {
    pub state_sha256: Vec<u8>,
    pub provider: String,
    pub pkce_verifier: String,
    pub nonce: String,
    pub redirect_to: String,
    pub expires_at: DateTime<Utc>,
}

/// Stores a pending sign-in.
pub async fn insert(conn: &mut AsyncPgConnection, state: &OAuthState) -> QueryResult<()> {
    diesel::insert_into(oauth_states::table)
        .values(state)
        .execute(conn)
        .await
        .map(drop)
}

/// Takes the unexpired pending sign-in of `provider` with this state, in
/// one statement: a replayed state finds nothing.
pub async fn consume(
    conn: &mut AsyncPgConnection,
    state_sha256: &[u8],
    provider: &str,
) -> QueryResult<Option<OAuthState>> {
    diesel::delete(
        oauth_states::table
            .filter(oauth_states::state_sha256.eq(state_sha256))
            .filter(oauth_states::provider.eq(provider))
            .filter(oauth_states::expires_at.gt(diesel::dsl::now)),
    )
    .returning(OAuthState::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Removes expired pending sign-ins; returns how many.
pub async fn delete_expired(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::delete(oauth_states::table.filter(oauth_states::expires_at.le(diesel::dsl::now)))
        .execute(conn)
        .await
}
