//! The `likes` table: one like per user and post.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::likes;

/// Likes a post; liking twice changes nothing (the unique rule and ON CONFLICT).
pub async fn like(conn: &mut AsyncPgConnection, user_id: Uuid, post_id: Uuid) -> QueryResult<()> {
    diesel::insert_into(likes::table)
        .values((
            likes::id.eq(Uuid::now_v7()),
            likes::user_id.eq(user_id),
            likes::post_id.eq(post_id),
        ))
        .on_conflict((likes::user_id, likes::post_id))
        .do_nothing()
        .execute(conn)
        .await
        .map(drop)
}

/// Takes a like back; unliking twice changes nothing.
pub async fn unlike(conn: &mut AsyncPgConnection, user_id: Uuid, post_id: Uuid) -> QueryResult<()> {
    diesel::delete(
        likes::table
            .filter(likes::user_id.eq(user_id))
            .filter(likes::post_id.eq(post_id)),
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Which of `post_ids` the user likes.
pub async fn liked_by(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    post_ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    likes::table
        .filter(likes::user_id.eq(user_id))
        .filter(likes::post_id.eq_any(post_ids))
        .select(likes::post_id)
        .load(conn)
        .await
}
