//! The `User` type and the queries that find users.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use crate::db::enums::ExperienceLevel;
use crate::db::models::user::User;
use crate::error::AppResult;
use crate::graphql::context::{self, Viewer};
use crate::graphql::ids;

/// Queries about users.
#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// Null when not signed in
    async fn me(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(user_id) = context::viewer(ctx).user_id else {
            return Ok(None);
        };
        let mut conn = context::conn(ctx).await?;
        Ok(User::find(&mut conn, user_id).await?)
    }

    /// Null when there is no such user
    async fn user(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<User>> {
        let id = ids::parse(&id, "id")?;
        let mut conn = context::conn(ctx).await?;
        Ok(User::find(&mut conn, id).await?)
    }
}

#[Object(name = "User")]
impl User {
    async fn id(&self) -> ID {
        ids::to_id(self.id)
    }

    async fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    async fn image(&self) -> Option<&str> {
        self.image.as_deref()
    }

    /// The viewer's own email; null when the viewer is anyone else
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        let Viewer { user_id, .. } = context::viewer(ctx);
        (user_id == Some(self.id)).then_some(self.email.as_str())
    }

    async fn verified(&self) -> bool {
        self.verified
    }

    async fn current_role(&self) -> Option<&str> {
        self.current_role.as_deref()
    }

    async fn experience_level(&self) -> ExperienceLevel {
        self.experience_level
    }

    async fn industry(&self) -> Option<&str> {
        self.industry.as_deref()
    }

    async fn years_of_experience(&self) -> Option<i32> {
        self.years_of_experience
    }

    async fn current_skills(&self) -> &[String] {
        &self.current_skills
    }

    async fn target_skills(&self) -> &[String] {
        &self.target_skills
    }

    async fn bio(&self) -> Option<&str> {
        self.bio.as_deref()
    }

    async fn current_goals(&self) -> &[String] {
        &self.current_goals
    }

    async fn achievement_score(&self) -> i32 {
        self.achievement_score
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}
