//! GraphQL `ID`s: UUIDs on the wire, checked at the edge.

use async_graphql::ID;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Parses an id argument; a malformed one is BAD_USER_INPUT naming `field`.
pub fn parse(id: &ID, field: &'static str) -> AppResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| AppError::bad_input(field, "is not a valid id"))
}

/// Renders a UUID as an `ID`.
pub fn to_id(id: Uuid) -> ID {
    ID(id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_ids_name_their_field() {
        match parse(&ID("nope".into()), "postId") {
            Err(AppError::BadUserInput { field, .. }) => assert_eq!(field, "postId"),
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
        let id = Uuid::now_v7();
        assert_eq!(parse(&to_id(id), "id").unwrap(), id);
    }
}
