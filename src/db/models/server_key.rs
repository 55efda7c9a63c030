//! The `server_keys` table: secrets the server makes for itself and every
//! instance shares (the first instance to need one makes it).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::server_keys;

/// The secret named `name`, stored as `fresh` when there was none yet. Two
/// statements, not one: when instances start together, the loser's insert
/// waits for the winner's commit and does nothing, and only a statement
/// begun after that sees the winner's row.
pub async fn get_or_insert(
    conn: &mut AsyncPgConnection,
    name: &str,
    fresh: &[u8; 32],
) -> QueryResult<Vec<u8>> {
    diesel::insert_into(server_keys::table)
        .values((
            server_keys::name.eq(name),
            server_keys::secret.eq(&fresh[..]),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    server_keys::table
        .find(name)
        .select(server_keys::secret)
        .first(conn)
        .await
}
