//! Relay connections over keyset pages.

use async_graphql::OutputType;
use async_graphql::connection::{Connection, CursorType, Edge};

use crate::db::pagination::Keyset;
use crate::error::{AppError, AppResult};
use crate::graphql::limits;

/// A page request: how many rows, after which position.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    /// Rows wanted (default 20, at most 100).
    pub size: i64,
    /// Position to continue after.
    pub after: Option<Keyset>,
}

impl PageRequest {
    /// Checks `first` and `after`; a bad one is BAD_USER_INPUT naming it.
    pub fn parse(first: Option<i32>, after: Option<&str>) -> AppResult<Self> {
        let size = limits::page_size(first)?;
        let after = after
            .map(|cursor| {
                Keyset::decode(cursor)
                    .ok_or_else(|| AppError::bad_input("after", "is not a valid cursor"))
            })
            .transpose()?;
        Ok(Self { size, after })
    }

    /// Rows to fetch: one more than wanted tells whether another page exists.
    pub fn fetch(&self) -> i64 {
        self.size + 1
    }

    /// The connection of `rows` (fetched with [`Self::fetch`]): each edge's
    /// cursor is its row's sort key (encoded only if the client selects it),
    /// and its node is the row moved into its API type.
    pub fn connection<R, T: OutputType + From<R>>(
        &self,
        mut rows: Vec<R>,
        keyset: impl Fn(&R) -> Keyset,
    ) -> Connection<Keyset, T> {
        let size = usize::try_from(self.size).unwrap_or(0);
        let has_next = rows.len() > size;
        rows.truncate(size);
        let mut connection = Connection::new(self.after.is_some(), has_next);
        connection.edges.extend(
            rows.into_iter()
                .map(|row| Edge::new(keyset(&row), T::from(row))),
        );
        connection
    }
}

/// Cursors are keysets, encoded when a `cursor` (or `pageInfo`'s) is resolved:
/// a feed page that selects none spends nothing on them.
impl CursorType for Keyset {
    type Error = InvalidCursor;

    fn decode_cursor(cursor: &str) -> Result<Self, InvalidCursor> {
        Keyset::decode(cursor).ok_or(InvalidCursor)
    }

    fn encode_cursor(&self) -> String {
        self.encode()
    }
}

/// A cursor that is not one of ours.
#[derive(Debug, thiserror::Error)]
#[error("is not a valid cursor")]
pub struct InvalidCursor;
