//! The `accounts` table: linked sign-in identities (Auth.js shape). Provider
//! tokens are stored encrypted, or not at all.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::accounts;

/// A linked identity (no tokens).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts, check_for_backend(diesel::pg::Pg))]
pub struct OAuthAccount {
    pub id: Uuid,
    pub user_id: Uuid,
    pub provider: String,
    pub provider_account_id: String,
    pub created_at: DateTime<Utc>,
}

/// Token columns, already encrypted.
#[derive(Debug, Clone, Default, AsChangeset, Insertable)]
#[diesel(table_name = accounts, treat_none_as_null = true)]
pub struct OAuthTokens {
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub expires_at: Option<i64>,
    pub token_type: Option<String>,
    pub scope: Option<String>,
}

/// The linked identity of `provider` with this id, if any.
pub async fn find(
    conn: &mut AsyncPgConnection,
    provider: &str,
    provider_account_id: &str,
) -> QueryResult<Option<OAuthAccount>> {
    accounts::table
        .filter(accounts::provider.eq(provider))
        .filter(accounts::provider_account_id.eq(provider_account_id))
        .select(OAuthAccount::as_select())
        .first(conn)
        .await
        .optional()
}

/// Links an identity to a user.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    provider: &str,
    provider_account_id: &str,
    tokens: &OAuthTokens,
) -> QueryResult<OAuthAccount> {
    diesel::insert_into(accounts::table)
        .values((
            accounts::id.eq(Uuid::now_v7()),
            accounts::user_id.eq(user_id),
            accounts::type_.eq("oauth"),
            accounts::provider.eq(provider),
            accounts::provider_account_id.eq(provider_account_id),
            tokens,
        ))
        .returning(OAuthAccount::as_returning())
        .get_result(conn)
        .await
}

/// Replaces the stored tokens.
pub async fn set_tokens(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    tokens: &OAuthTokens,
) -> QueryResult<()> {
    diesel::update(accounts::table.find(id))
        .set(tokens)
        .execute(conn)
        .await
        .map(drop)
}

/// A user's linked identities, oldest first.
pub async fn for_user(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<Vec<OAuthAccount>> {
    accounts::table
        .filter(accounts::user_id.eq(user_id))
        .order(accounts::created_at)
        .select(OAuthAccount::as_select())
        .load(conn)
        .await
}

/// Unlinks every provider of a user.
pub async fn delete_all_for_user(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<usize> {
    diesel::delete(accounts::table.filter(accounts::user_id.eq(user_id)))
        .execute(conn)
        .await
}

/// Unlinks the identities linked before the user's email was verified (all
/// of them when it never was); returns how many went.
pub async fn delete_linked_before_verification(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM accounts a USING users u
         WHERE a.user_id = $1 AND u.id = a.user_id
           AND (NOT u.verified OR u.email_verified IS NULL OR a.created_at < u.email_verified)",
    )
    .bind::<diesel::sql_types::Uuid, _>(user_id)
    .execute(conn)
    .await
}

/// Unlinks a provider from a user; returns how many identities went.
pub async fn delete_for(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    provider: &str,
) -> QueryResult<usize> {
    diesel::delete(
        accounts::table
            .filter(accounts::user_id.eq(user_id))
            .filter(accounts::provider.eq(provider)),
    )
    .execute(conn)
    .await
}
