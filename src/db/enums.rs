//! The data model's enums: PostgreSQL enum types that are also GraphQL enums.

use diesel_derive_enum::DbEnum;

/// Career level, from intern to C-level.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, DbEnum, async_graphql::Enum, serde::Serialize,
)]
#[ExistingTypePath = "crate::db::schema::sql_types::ExperienceLevel"]
#[DbValueStyle = "SCREAMING_SNAKE_CASE"]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExperienceLevel {
    Intern,
    Junior,
    MidLevel,
    Senior,
    Lead,
    Manager,
    Director,
    Vp,
    #[graphql(name = "C_LEVEL")]
    #[db_rename = "C_LEVEL"]
    #[serde(rename = "C_LEVEL")]
    CLevel,
}

/// How long a goal runs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, DbEnum, async_graphql::Enum, serde::Serialize,
)]
#[ExistingTypePath = "crate::db::schema::sql_types::GoalPeriod"]
#[DbValueStyle = "SCREAMING_SNAKE_CASE"]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GoalPeriod {
    Daily,
    Weekly,
    Monthly,
    Quarterly,
    Yearly,
}

/// Whether a goal is still open.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, DbEnum, async_graphql::Enum, serde::Serialize,
)]
#[ExistingTypePath = "crate::db::schema::sql_types::GoalStatus"]
#[DbValueStyle = "SCREAMING_SNAKE_CASE"]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GoalStatus {
    Active,
    Completed,
}

/// Whether a post is visible to others.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, DbEnum, async_graphql::Enum, serde::Serialize,
)]
#[ExistingTypePath = "crate::db::schema::sql_types::PostStatus"]
#[DbValueStyle = "SCREAMING_SNAKE_CASE"]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PostStatus {
    Draft,
    Published,
}

/// Why a notification was sent.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, DbEnum, async_graphql::Enum, serde::Serialize,
)]
#[ExistingTypePath = "crate::db::schema::sql_types::NotificationKind"]
#[DbValueStyle = "SCREAMING_SNAKE_CASE"]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotificationKind {
    PostLiked,
    PostReplied,
}
