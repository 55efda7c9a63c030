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
