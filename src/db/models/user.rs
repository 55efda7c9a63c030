//! The `users` table.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::enums::ExperienceLevel;
use crate::db::schema::users;

/// A user, as stored.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub password_hash: Option<String>,
    pub verified: bool,
    pub email_verified: Option<DateTime<Utc>>,
    pub image: Option<String>,
    pub current_role: Option<String>,
    pub experience_level: ExperienceLevel,
    pub industry: Option<String>,
    pub years_of_experience: Option<i32>,
    pub current_skills: Vec<String>,
    pub target_skills: Vec<String>,
    pub bio: Option<String>,
    pub current_goals: Vec<String>,
    pub achievement_score: i32,
    pub daily_generation_count: i32,
    pub last_generation_date: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What lists show of a user beside posts and replies: their id, name and
/// picture. A feed page loads up to 200 users; whole rows were most of its cost.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct UserCard {
    pub id: Uuid,
    pub name: Option<String>,
    pub image: Option<String>,
}

/// A user about to be inserted.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub verified: bool,
    pub email_verified: Option<DateTime<Utc>>,
    pub image: Option<&'a str>,
}

/// The user with this id, if any.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// The users with these ids, in no particular order (for DataLoaders).
pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<User>> {
    users::table
        .filter(users::id.eq_any(ids))
        .select(User::as_select())
        .load(conn)
        .await
}

/// The cards of the users with these ids, in no particular order (for DataLoaders).
pub async fn find_cards(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<UserCard>> {
    users::table
        .filter(users::id.eq_any(ids))
        .select(UserCard::as_select())
        .load(conn)
        .await
}

/// Inserts the user and returns the stored row.
pub async fn insert(conn: &mut AsyncPgConnection, user: &NewUser<'_>) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values(user)
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// Changes to a profile: `None` leaves a column alone; `Some(None)` clears it.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct ProfileChanges {
    pub name: Option<Option<String>>,
    pub image: Option<Option<String>>,
    pub current_role: Option<Option<String>>,
    pub experience_level: Option<ExperienceLevel>,
    pub industry: Option<Option<String>>,
    pub years_of_experience: Option<Option<i32>>,
    pub current_skills: Option<Vec<String>>,
    pub target_skills: Option<Vec<String>>,
    pub bio: Option<Option<String>>,
    pub current_goals: Option<Vec<String>>,
}

impl ProfileChanges {
    /// True when nothing would change (diesel refuses an empty `SET`).
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.image.is_none()
            && self.current_role.is_none()
            && self.experience_level.is_none()
            && self.industry.is_none()
            && self.years_of_experience.is_none()
            && self.current_skills.is_none()
            && self.target_skills.is_none()
            && self.bio.is_none()
            && self.current_goals.is_none()
    }
}

/// The user with this (normalized) email, if any.
pub async fn find_by_email(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// Replaces the password hash.
pub async fn set_password(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    password_hash: &str,
) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(password_hash))
        .execute(conn)
        .await
        .map(drop)
}

/// Replaces the password hash only while it is still `expected` (the one
/// just verified); false when it changed meanwhile and was left alone.
pub async fn replace_password_hash(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    expected: &str,
    password_hash: &str,
) -> QueryResult<bool> {
    diesel::update(
        users::table
            .find(id)
            .filter(users::password_hash.eq(expected)),
    )
    .set(users::password_hash.eq(password_hash))
    .execute(conn)
    .await
    .map(|n| n > 0)
}

/// Marks the user with this email verified (keeping the first verification time).
pub async fn mark_verified(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Option<User>> {
    diesel::update(users::table.filter(users::email.eq(email)))
        .set((
            users::verified.eq(true),
            users::email_verified.eq(diesel::dsl::sql::<
                diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
            >("coalesce(email_verified, now())")),
        ))
        .returning(User::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Applies profile changes and returns the updated user.
pub async fn update_profile(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &ProfileChanges,
) -> QueryResult<User> {
    diesel::update(users::table.find(id))
        .set(changes)
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// Erases the user; everything it owns goes with it (ON DELETE CASCADE).
pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::delete(users::table.find(id))
        .execute(conn)
        .await
        .map(|n| n > 0)
}

/// Moves the achievement score by `delta`.
pub async fn add_achievement_points(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    delta: i32,
) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::achievement_score.eq(users::achievement_score + delta))
        .execute(conn)
        .await
        .map(drop)
}

/// The user with this id, locked until the transaction ends.
pub async fn find_for_update(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Removes every way into the account (password, sessions, linked
/// identities): for an account whose email someone else just proved.
pub async fn clear_credentials(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    use crate::db::schema::sessions;
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(None::<String>))
        .execute(conn)
        .await?;
    diesel::delete(sessions::table.filter(sessions::user_id.eq(id)))
        .execute(conn)
        .await?;
    crate::db::models::oauth_account::delete_all_for_user(conn, id).await?;
    Ok(())
}
