//! Announcing events from inside a write's transaction.

use diesel::sql_types::{Array, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::events::{CHANNEL, Event};

/// Queues `events` with `pg_notify` in one statement. PostgreSQL delivers them
/// when (and only if) the surrounding transaction commits; call it inside the
/// transaction of the write the events describe.
pub async fn publish(conn: &mut AsyncPgConnection, events: &[Event]) -> diesel::QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let payloads: Vec<String> = events
        .iter()
        .map(|event| serde_json::to_string(event).expect("an event is plain ids and serializes"))
        .collect();
    diesel::sql_query("SELECT pg_notify($1, payload) FROM unnest($2) AS e(payload)")
        .bind::<Text, _>(CHANNEL)
        .bind::<Array<Text>, _>(payloads)
        .execute(conn)
        .await
        .map(drop)
}
