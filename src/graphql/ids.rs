//! GraphQL `ID`s: UUIDs on the wire, checked at the edge. `post(id:)` and
//! `user(id:)` also accept the cuid a row had in the Next.js app it was
//! imported from, so the old app's links keep working.

use async_graphql::{Context, ID};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::graphql::context;

/// Parses an id argument; a malformed one is BAD_USER_INPUT naming `field`.
pub fn parse(id: &ID, field: &'static str) -> AppResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| AppError::bad_input(field, "is not a valid id"))
}

/// Renders a UUID as an `ID` (lowercase, hyphenated). Encoded straight into
/// a string of its exact length: a feed page renders about 400 ids, and
/// `to_string` went through the formatter and grew its string.
pub fn to_id(id: Uuid) -> ID {
    ID(id
        .hyphenated()
        .encode_lower(&mut Uuid::encode_buffer())
        .to_owned())
}

/// True for the shape of Prisma's `cuid()` and `cuid(2)` ids: a lowercase
/// letter, then lowercase letters and digits, 20 to 32 in all.
fn is_legacy(id: &str) -> bool {
    (20..=32).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Resolves an id argument that may also be an imported row's old id, which
/// `by_legacy` (the owning domain's lookup) translates: None when an old id
/// was never imported. Anything that is neither is BAD_USER_INPUT.
pub async fn resolve(
    ctx: &Context<'_>,
    id: &ID,
    field: &'static str,
    by_legacy: impl AsyncFnOnce(&mut AsyncPgConnection, &str) -> AppResult<Option<Uuid>>,
) -> AppResult<Option<Uuid>> {
    if let Ok(id) = Uuid::parse_str(id.as_str()) {
        return Ok(Some(id));
    }
    if !is_legacy(id.as_str()) {
        return Err(AppError::bad_input(field, "is not a valid id"));
    }
    let mut conn = context::conn(ctx).await?;
    by_legacy(&mut conn, id.as_str()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_render_as_uuids_do() {
        let id = Uuid::now_v7();
        assert_eq!(to_id(id).as_str(), id.to_string());
        assert_eq!(parse(&to_id(id), "id").ok(), Some(id));
    }

    #[test]
    fn malformed_ids_name_their_field() {
        match parse(&ID("nope".into()), "postId") {
            Err(AppError::BadUserInput { field, .. }) => assert_eq!(field, "postId"),
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
        let id = Uuid::now_v7();
        assert_eq!(parse(&to_id(id), "id").unwrap(), id);
    }

    #[test]
    fn cuids_look_like_legacy_ids() {
        assert!(is_legacy("clx1v2k3j0000abcd1234efgh")); // cuid v1, 25 characters
        assert!(is_legacy("tz4a98xxat96iws9zmbrgj3a")); // cuid2, 24 characters
        assert!(!is_legacy("nope"));
        assert!(!is_legacy("CLX1V2K3J0000ABCD1234EFGH"));
        assert!(!is_legacy("1lx1v2k3j0000abcd1234efgh"));
        assert!(!is_legacy("clx1v2k3j0000abcd1234efgh'; --"));
        assert!(!is_legacy(&"c".repeat(33)));
    }
}
