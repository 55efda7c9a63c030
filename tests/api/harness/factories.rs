//! Rows inserted straight into the database, for tests that need data to exist.

use diesel_async::AsyncPgConnection;
use growth_diary::db::models::user::{self as users, NewUser, User};

/// Inserts a user with this email (and no password).
pub async fn user(conn: &mut AsyncPgConnection, email: &str) -> User {
    let new_user = NewUser {
        id: uuid::Uuid::now_v7(),
        email,
        name: Some("Test User"),
        password_hash: None,
        verified: false,
        email_verified: None,
        image: None,
    };
    users::insert(conn, &new_user).await.expect("insert a user")
}

/// Inserts `count` users, each with one published post carrying `replies`
/// replies and `likes` likes from other users (all in SQL, for speed).
/// Posts are spaced a second apart, newest last.
pub async fn social_graph(client: &tokio_postgres::Client, count: i32, replies: i32, likes: i32) {
    client
        .execute(
            "INSERT INTO users (email, name) SELECT 'user' || n || '@example.com', 'User ' || n FROM generate_series(1, $1) n",
            &[&count],
        )
        .await
        .expect("insert users");
    client
        .execute(
            "INSERT INTO posts (author_id, title, content, status, created_at)
             SELECT id, 'Post of ' || name, 'Body', 'PUBLISHED', now() - (interval '1 second' * row_number() OVER (ORDER BY email DESC))
             FROM users",
            &[],
        )
        .await
        .expect("insert posts");
    client
        .execute(
            "INSERT INTO replies (author_id, post_id, content, created_at)
             SELECT u.id, p.id, 'Reply ' || r, p.created_at + interval '1 millisecond' * r
             FROM posts p CROSS JOIN generate_series(1, $1) r
             JOIN LATERAL (SELECT id FROM users ORDER BY random() LIMIT 1) u ON true",
            &[&replies],
        )
        .await
        .expect("insert replies");
    client
        .execute(
            "INSERT INTO likes (user_id, post_id)
             SELECT u.id, p.id FROM posts p
             JOIN LATERAL (SELECT id FROM users WHERE id <> p.author_id ORDER BY random() LIMIT $1) u ON true",
            &[&i64::from(likes)],
        )
        .await
        .expect("insert likes");
}
