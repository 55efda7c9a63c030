//! Keyset pagination: a position in a list ordered by (timestamp, id), and its
//! opaque cursor. Keyset pages stay stable while rows are inserted and cost
//! the same on page 1,000 as on page 1.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A position: the sort timestamp and id of the last row seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyset {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl Keyset {
    /// The opaque cursor handed to clients.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.at.timestamp_micros(), self.id))
    }

    /// Parses a cursor; `None` when it is not one of ours.
    pub fn decode(cursor: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (micros, id) = text.split_once(':')?;
        Some(Self {
            at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: id.parse().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let keyset = Keyset {
            at: DateTime::from_timestamp_micros(1_763_800_000_123_456).unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(Keyset::decode(&keyset.encode()), Some(keyset));
        assert_eq!(Keyset::decode("garbage!"), None);
        assert_eq!(
            Keyset::decode(&URL_SAFE_NO_PAD.encode("12:not-a-uuid")),
            None
        );
    }
}

/// The SQL of a keyset condition, usable in a boxed query on any table.
pub type KeysetCondition<QS> =
    Box<dyn diesel::BoxableExpression<QS, diesel::pg::Pg, SqlType = diesel::sql_types::Bool>>;

/// Which side of the position a page continues on.
#[derive(Debug, Clone, Copy)]
pub enum Direction {
    /// Newest-first lists continue with smaller keys.
    Older,
    /// Oldest-first (and nearest-deadline-first) lists continue with larger keys.
    Newer,
}

impl Keyset {
    /// `(at_column, id_column) < (at, id)` (or `>`): a row comparison, which
    /// PostgreSQL answers with one index range scan starting at the cursor,
    /// where the equivalent `a < x OR (a = x AND b < y)` scans from the start.
    /// `columns` is trusted SQL such as `posts.created_at, posts.id`.
    pub fn condition<QS>(
        &self,
        columns: &'static str,
        direction: Direction,
    ) -> KeysetCondition<QS> {
        let op = match direction {
            Direction::Older => "<",
            Direction::Newer => ">",
        };
        Box::new(
            diesel::dsl::sql::<diesel::sql_types::Bool>(&format!("({columns}) {op} ("))
                .bind::<diesel::sql_types::Timestamptz, _>(self.at)
                .sql(", ")
                .bind::<diesel::sql_types::Uuid, _>(self.id)
                .sql(")"),
        )
    }
}
