//! Rows inserted straight into the database, for tests that need data to exist.

use diesel_async::AsyncPgConnection;
use growth_diary::db::models::user::{NewUser, User};

/// Inserts a user with this email (and no password).
pub async fn user(conn: &mut AsyncPgConnection, email: &str) -> User {
    NewUser {
        id: uuid::Uuid::now_v7(),
        email,
        name: Some("Test User"),
        password_hash: None,
        verified: false,
        email_verified: None,
        image: None,
    }
    .insert(conn)
    .await
    .expect("insert a user")
}
