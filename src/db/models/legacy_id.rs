//! The `legacy_ids` table: ids that imported rows had in the Next.js app.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::legacy_ids;

/// The Prisma model names the import keys its mappings by.
pub mod model {
    /// `User` rows.
    pub const USER: &str = "User";
    /// `Post` rows.
    pub const POST: &str = "Post";
}

/// The id here of the row of `model` that had `legacy_id` in the old app, if it was imported.
pub async fn resolve(
    conn: &mut AsyncPgConnection,
    model: &str,
    legacy_id: &str,
) -> QueryResult<Option<Uuid>> {
    legacy_ids::table
        .filter(legacy_ids::model.eq(model))
        .filter(legacy_ids::legacy_id.eq(legacy_id))
        .select(legacy_ids::id)
        .first::<Option<Uuid>>(conn)
        .await
        .optional()
        .map(Option::flatten)
}
