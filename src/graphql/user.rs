//! The `User` type and the queries that find users.

use async_graphql::connection::Connection;
use std::sync::Arc;

use async_graphql::{Context, ID, Lookahead, Object};
use chrono::{DateTime, Utc};

use uuid::Uuid;

use crate::accounts;
use crate::db::enums::{ExperienceLevel, GoalPeriod, GoalStatus};
use crate::db::models::goal::{Goal as GoalRow, GoalFilter};
use crate::db::models::story::Story as StoryRow;
use crate::db::models::user::{User as UserRow, UserCard};
use crate::db::pagination::Keyset;
use crate::error::{AppError, AppResult};
use crate::graphql::account::LinkedAccount;
use crate::graphql::connection::PageRequest;
use crate::graphql::context;
use crate::graphql::goal::Goal;
use crate::graphql::loaders::prime;
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
/// Users beside posts and replies are usually loaded as cards, without the
/// long part of the profile ([`Profile`]), which is then loaded on first use.
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
    achievement_score: i32,
    created_at: DateTime<Utc>,
    /// None for a user loaded as a card.
    profile: Option<Arc<Profile>>,
}

/// The long part of a profile.
#[derive(Debug)]
struct Profile {
    current_skills: Vec<String>,
    target_skills: Vec<String>,
    bio: Option<String>,
    current_goals: Vec<String>,
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
            achievement_score: row.achievement_score,
            created_at: row.created_at,
            profile: Some(Arc::new(Profile {
                current_skills: row.current_skills,
                target_skills: row.target_skills,
                bio: row.bio,
                current_goals: row.current_goals,
            })),
        }
    }
}

impl From<UserCard> for User {
    fn from(card: UserCard) -> Self {
        Self {
            id: card.id,
            email: card.email,
            name: card.name,
            image: card.image,
            verified: card.verified,
            current_role: card.current_role,
            experience_level: card.experience_level,
            industry: card.industry,
            years_of_experience: card.years_of_experience,
            achievement_score: card.achievement_score,
            created_at: card.created_at,
            profile: None,
        }
    }
}

/// The fields of [`Profile`]: a selection of a user without them can take a card.
const PROFILE_FIELDS: [&str; 4] = ["bio", "currentSkills", "targetSkills", "currentGoals"];

/// Whether `selection` (of a user) reads the long part of the profile.
pub fn wants_profile(selection: &Lookahead<'_>) -> bool {
    PROFILE_FIELDS
        .iter()
        .any(|field| selection.field(field).exists())
}

/// A user by id through the request's loaders: as a card when the field being
/// resolved selects nothing of the long profile. A card asked for its profile
/// anyway (a selection the look-ahead did not see) loads it then: a guess
/// costs a statement at worst, never a wrong answer.
pub async fn load(ctx: &Context<'_>, id: Uuid) -> AppResult<Option<Arc<User>>> {
    let loaders = context::loaders(ctx);
    // One pass over the field's selection (fragments included): this runs
    // for every author of a page.
    let wants_profile = ctx
        .field()
        .selection_set()
        .any(|field| PROFILE_FIELDS.contains(&field.name()));
    if wants_profile {
        loaders.users.load_one(id).await
    } else {
        loaders.user_cards.load_one(id).await
    }
}

/// Puts the users with these ids in the request's loaders, as [`load`] will
/// ask for them under `selection`: one statement.
pub async fn prime_for(
    ctx: &Context<'_>,
    selection: &Lookahead<'_>,
    ids: &[Uuid],
) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let loaders = context::loaders(ctx);
    if wants_profile(selection) {
        prime(&loaders.users, ids).await
    } else {
        prime(&loaders.user_cards, ids).await
    }
}

impl User {
    async fn profile(&self, ctx: &Context<'_>) -> AppResult<Arc<Profile>> {
        if let Some(profile) = &self.profile {
            return Ok(profile.clone());
        }
        context::loaders(ctx)
            .users
            .load_one(self.id)
            .await?
            .and_then(|user| user.profile.clone())
            .ok_or_else(|| AppError::internal("a user's profile is missing", self.id))
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

    async fn current_skills(&self, ctx: &Context<'_>) -> AppResult<Vec<String>> {
        Ok(self.profile(ctx).await?.current_skills.clone())
    }

    async fn target_skills(&self, ctx: &Context<'_>) -> AppResult<Vec<String>> {
        Ok(self.profile(ctx).await?.target_skills.clone())
    }

    async fn bio(&self, ctx: &Context<'_>) -> AppResult<Option<String>> {
        Ok(self.profile(ctx).await?.bio.clone())
    }

    async fn current_goals(&self, ctx: &Context<'_>) -> AppResult<Vec<String>> {
        Ok(self.profile(ctx).await?.current_goals.clone())
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
    ) -> AppResult<Connection<Keyset, Post>> {
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
    ) -> AppResult<Connection<Keyset, Goal>> {
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
    ) -> AppResult<Connection<Keyset, Story>> {
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
