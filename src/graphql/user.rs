//! The `User` type and the queries that find users.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use uuid::Uuid;

use crate::accounts;
use crate::db::enums::{ExperienceLevel, GoalPeriod, GoalStatus};
use crate::db::models::goal::{Goal as GoalRow, GoalFilter};
use crate::db::models::story::Story as StoryRow;
use crate::db::models::user::User as UserRow;
use crate::error::AppResult;
use crate::graphql::account::LinkedAccount;
use crate::graphql::connection::PageRequest;
use crate::graphql::context;
use crate::graphql::goal::Goal;
use crate::graphql::post::Post;
use crate::graphql::story::Story;
use crate::graphql::{ids, limits};
use crate::social::{goals, posts};
use crate::stories;

/// Queries about users.
#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// Null when not signed in
    async fn me(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(user_id) = context::viewer(ctx).user_id() else {
            return Ok(None);
        };
        let mut conn = context::conn(ctx).await?;
        Ok(accounts::find_user(&mut conn, user_id)
            .await?
            .map(User::from))
    }

    /// Null when there is no such user. `id` may also be the user's id in the Next.js app it was imported from
    async fn user(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<User>> {
        let Some(id) = ids::resolve(ctx, &id, "id", accounts::user_id_for_legacy).await? else {
            return Ok(None);
        };
        let mut conn = context::conn(ctx).await?;
        Ok(accounts::find_user(&mut conn, id).await?.map(User::from))
    }
}

/// A user as the API shows them, moved out of their row: the public profile,
/// and the email, which [`accounts::visible_email`] shows to its owner only.
#[derive(Debug, Clone)]
pub struct User {
    id: Uuid,
    email: String,
    name: Option<String>,
    image: Option<String>,
    verified: bool,
    current_role: Option<String>,
    experience_level: ExperienceLevel,
    industry: Option<String>,
    years_of_experience: Option<i32>,
    current_skills: Vec<String>,
    target_skills: Vec<String>,
    bio: Option<String>,
    current_goals: Vec<String>,
    achievement_score: i32,
    created_at: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id,
            email: row.email,
            name: row.name,
            image: row.image,
            verified: row.verified,
            current_role: row.current_role,
            experience_level: row.experience_level,
            industry: row.industry,
            years_of_experience: row.years_of_experience,
            current_skills: row.current_skills,
            target_skills: row.target_skills,
            bio: row.bio,
            current_goals: row.current_goals,
            achievement_score: row.achievement_score,
            created_at: row.created_at,
        }
    }
}

#[Object]
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
        accounts::visible_email(context::reader(ctx, self.id), self.id, &self.email)
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

    /// Newest first. Published posts; the author also sees their own drafts
    #[graphql(complexity = "limits::connection_cost(first, after.is_some(), child_complexity)")]
    async fn posts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<String, Post>> {
        let page = PageRequest::parse(first, after.as_deref())?;
        let reader = context::reader(ctx, self.id);
        // The batched first pages show drafts by the request's own viewer; a
        // user who signed in during this request reads theirs directly.
        let batched = page.after.is_none() && reader == context::viewer(ctx).user_id();
        let rows = if batched {
            // First pages of many users come from one batched statement.
            context::loaders(ctx)
                .first_posts
                .load_one((self.id, page.fetch()))
                .await?
                .unwrap_or_default()
        } else {
            let mut conn = context::conn(ctx).await?;
            posts::author_page(&mut conn, reader, self.id, page.after, page.fetch()).await?
        };
        crate::graphql::post::connection(ctx, &page, rows).await
    }

    /// Owner only (FORBIDDEN for anyone else). Nearest deadline first
    #[graphql(complexity = "limits::connection_cost(first, true, child_complexity)")]
    async fn goals(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<GoalStatus>,
        period: Option<GoalPeriod>,
    ) -> AppResult<Connection<String, Goal>> {
        let page = PageRequest::parse(first, after.as_deref())?;
        let mut conn = context::conn(ctx).await?;
        let rows = goals::page_for_owner(
            &mut conn,
            context::reader(ctx, self.id),
            self.id,
            GoalFilter { status, period },
            page.after,
            page.fetch(),
        )
        .await?;
        Ok(page.connection(rows, GoalRow::keyset))
    }

    /// Owner only (FORBIDDEN for anyone else). Newest first
    #[graphql(complexity = "limits::connection_cost(first, true, child_complexity)")]
    async fn stories(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<String, Story>> {
        let page = PageRequest::parse(first, after.as_deref())?;
        let mut conn = context::conn(ctx).await?;
        let reader = context::reader(ctx, self.id);
        let rows =
            stories::page_for_owner(&mut conn, reader, self.id, page.after, page.fetch()).await?;
        Ok(page.connection(rows, StoryRow::keyset))
    }

    /// Sign-in providers linked to this account. Owner only (FORBIDDEN for anyone else)
    #[graphql(complexity = "limits::STATEMENT_COST")]
    async fn linked_accounts(&self, ctx: &Context<'_>) -> AppResult<Vec<LinkedAccount>> {
        let mut conn = context::conn(ctx).await?;
        let reader = context::reader(ctx, self.id);
        let identities = accounts::linked::list(&mut conn, reader, self.id).await?;
        Ok(identities.into_iter().map(LinkedAccount::from).collect())
    }
}
