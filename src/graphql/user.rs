//! The `User` type and the queries that find users.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::connection::Connection;
use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, Lookahead, Object, SelectionField};
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
use crate::graphql::post_page::PostPage;
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
/// Users beside posts and replies are usually loaded as cards (id, name,
/// image); the rest (`Details`) is then loaded on first use.
#[derive(Debug, Clone)]
pub struct User {
    pub(crate) id: Uuid,
    pub(crate) name: Option<String>,
    pub(crate) image: Option<String>,
    /// None for a user loaded as a card.
    details: Option<Arc<Details>>,
}

/// All of a user the API shows but a card.
#[derive(Debug)]
struct Details {
    email: String,
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
            name: row.name,
            image: row.image,
            details: Some(Arc::new(Details {
                email: row.email,
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
            })),
        }
    }
}

impl From<UserCard> for User {
    fn from(card: UserCard) -> Self {
        Self {
            id: card.id,
            name: card.name,
            image: card.image,
            details: None,
        }
    }
}

/// The fields a card answers by itself (the connections read only the id).
const CARD_FIELDS: [&str; 8] = [
    "id",
    "name",
    "image",
    "__typename",
    "posts",
    "goals",
    "stories",
    "linkedAccounts",
];

/// Whether the fields selected of a user need more than a card.
fn wants_details<'a>(mut fields: impl Iterator<Item = SelectionField<'a>>) -> bool {
    fields.any(|field| !CARD_FIELDS.contains(&field.name()))
}

/// Whether `selection` (of a user, possibly selected several times) needs
/// more than a card.
pub fn selection_wants_details(selection: &Lookahead<'_>) -> bool {
    selection
        .selection_fields()
        .iter()
        .any(|field| wants_details(field.selection_set()))
}

/// A user by id through the request's loaders: as a card when the field being
/// resolved selects nothing more. A card asked for more anyway (a selection
/// the look-ahead did not see) loads the rest then: a wrong guess costs a
/// statement, never a wrong answer.
pub async fn load(ctx: &Context<'_>, id: Uuid) -> AppResult<Option<Arc<User>>> {
    let loaders = context::loaders(ctx);
    if wants_details(ctx.field().selection_set()) {
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
    let (details, users) = fetch_for(ctx, selection, ids).await?;
    let loaders = context::loaders(ctx);
    if details {
        loaders.users.feed_many(users).await;
    } else {
        loaders.user_cards.feed_many(users).await;
    }
    Ok(())
}

/// The users with these ids as [`load`] will ask for them under `selection`
/// (one statement, none for no ids), and whether they are whole (`true`) or
/// cards.
pub async fn fetch_for(
    ctx: &Context<'_>,
    selection: &Lookahead<'_>,
    ids: &[Uuid],
) -> AppResult<(bool, HashMap<Uuid, Arc<User>>)> {
    let details = selection_wants_details(selection);
    if ids.is_empty() {
        return Ok((details, HashMap::new()));
    }
    let loaders = context::loaders(ctx);
    let users = if details {
        loaders.users.loader().load(ids).await?
    } else {
        loaders.user_cards.loader().load(ids).await?
    };
    Ok((details, users))
}

impl User {
    async fn details(&self, ctx: &Context<'_>) -> AppResult<Arc<Details>> {
        if let Some(details) = &self.details {
            return Ok(details.clone());
        }
        context::loaders(ctx)
            .users
            .load_one(self.id)
            .await?
            .and_then(|user| user.details.clone())
            .ok_or_else(|| AppError::internal("a user's details are missing", self.id))
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
    async fn email(&self, ctx: &Context<'_>) -> AppResult<Option<String>> {
        let details = self.details(ctx).await?;
        Ok(
            accounts::visible_email(context::reader(ctx, self.id), self.id, &details.email)
                .map(str::to_owned),
        )
    }

    async fn verified(&self, ctx: &Context<'_>) -> AppResult<bool> {
        Ok(self.details(ctx).await?.verified)
    }

    async fn current_role(&self, ctx: &Context<'_>) -> AppResult<Option<String>> {
        Ok(self.details(ctx).await?.current_role.clone())
    }

    async fn experience_level(&self, ctx: &Context<'_>) -> AppResult<ExperienceLevel> {
        Ok(self.details(ctx).await?.experience_level)
    }

    async fn industry(&self, ctx: &Context<'_>) -> AppResult<Option<String>> {
        Ok(self.details(ctx).await?.industry.clone())
    }

    async fn years_of_experience(&self, ctx: &Context<'_>) -> AppResult<Option<i32>> {
        Ok(self.details(ctx).await?.years_of_experience)
    }

    async fn current_skills(&self, ctx: &Context<'_>) -> AppResult<Vec<String>> {
        Ok(self.details(ctx).await?.current_skills.clone())
    }

    async fn target_skills(&self, ctx: &Context<'_>) -> AppResult<Vec<String>> {
        Ok(self.details(ctx).await?.target_skills.clone())
    }

    async fn bio(&self, ctx: &Context<'_>) -> AppResult<Option<String>> {
        Ok(self.details(ctx).await?.bio.clone())
    }

    async fn current_goals(&self, ctx: &Context<'_>) -> AppResult<Vec<String>> {
        Ok(self.details(ctx).await?.current_goals.clone())
    }

    async fn achievement_score(&self, ctx: &Context<'_>) -> AppResult<i32> {
        Ok(self.details(ctx).await?.achievement_score)
    }

    async fn created_at(&self, ctx: &Context<'_>) -> AppResult<DateTime<Utc>> {
        Ok(self.details(ctx).await?.created_at)
    }

    /// Newest first. Published posts; the author also sees their own drafts
    #[graphql(complexity = "limits::connection_cost(first, after.is_some(), child_complexity)")]
    async fn posts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<PostPage> {
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
        PostPage::load(ctx, page, rows, None).await
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
