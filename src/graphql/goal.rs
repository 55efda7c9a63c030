//! Goals: the `Goal` type and its mutations.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};

use uuid::Uuid;

use crate::db::enums::{GoalPeriod, GoalStatus};
use crate::db::models::goal::Goal as GoalRow;
use crate::error::AppResult;
use crate::graphql::{context, ids};
use crate::social::goals::{self, GoalDraft, GoalEdit};

/// A goal as the API shows it (to its owner only), moved out of its row.
#[derive(Debug, Clone)]
pub struct Goal {
    id: Uuid,
    title: String,
    period: GoalPeriod,
    status: GoalStatus,
    start_date: DateTime<Utc>,
    deadline: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<GoalRow> for Goal {
    fn from(row: GoalRow) -> Self {
        Self {
            id: row.id,
            title: row.title,
            period: row.period,
            status: row.status,
            start_date: row.start_date,
            deadline: row.deadline,
            completed_at: row.completed_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[Object]
impl Goal {
    async fn id(&self) -> ID {
        ids::to_id(self.id)
    }
    async fn title(&self) -> &str {
        &self.title
    }
    async fn period(&self) -> GoalPeriod {
        self.period
    }
    async fn status(&self) -> GoalStatus {
        self.status
    }
    async fn start_date(&self) -> DateTime<Utc> {
        self.start_date
    }
    async fn deadline(&self) -> DateTime<Utc> {
        self.deadline
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.completed_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
}

#[derive(InputObject)]
pub struct CreateGoalInput {
    title: String,
    period: GoalPeriod,
    /// Defaults to now
    start_date: Option<DateTime<Utc>>,
    deadline: DateTime<Utc>,
}

/// Only the fields given are changed; status COMPLETED sets completedAt, ACTIVE clears it
#[derive(InputObject)]
pub struct UpdateGoalInput {
    title: Option<String>,
    period: Option<GoalPeriod>,
    start_date: Option<DateTime<Utc>>,
    deadline: Option<DateTime<Utc>>,
    status: Option<GoalStatus>,
}

/// Goal mutations.
#[derive(Default)]
pub struct GoalMutation;

#[Object]
impl GoalMutation {
    async fn create_goal(&self, ctx: &Context<'_>, input: CreateGoalInput) -> AppResult<Goal> {
        let actor = context::viewer(ctx).actor()?;
        let draft = GoalDraft {
            title: input.title,
            period: input.period,
            start_date: input.start_date,
            deadline: input.deadline,
        };
        let goal = goals::create(context::services(ctx), actor.user_id, draft).await?;
        Ok(goal.into())
    }

    async fn update_goal(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateGoalInput,
    ) -> AppResult<Goal> {
        let id = ids::parse(&id, "id")?;
        let actor = context::viewer(ctx).actor()?;
        let edit = GoalEdit {
            title: input.title,
            period: input.period,
            start_date: input.start_date,
            deadline: input.deadline,
            status: input.status,
        };
        let goal = goals::update(context::services(ctx), actor.user_id, id, edit).await?;
        Ok(goal.into())
    }

    async fn delete_goal(&self, ctx: &Context<'_>, id: ID) -> AppResult<bool> {
        let id = ids::parse(&id, "id")?;
        let actor = context::viewer(ctx).actor()?;
        goals::delete(context::services(ctx), actor.user_id, id).await?;
        Ok(true)
    }
}
