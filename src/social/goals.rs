//! Goals: private to their owner.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::db::enums::{GoalPeriod, GoalStatus};
use crate::db::models::goal::{self, Goal, GoalChanges, GoalFilter, NewGoal};
use crate::db::pagination::Keyset;
use crate::error::{AppError, AppResult};
use crate::services::Services;
use crate::social::limits::{self, Write};
use crate::social::{achievements, title};

/// A new goal as the client sent it.
#[derive(Debug, Clone)]
pub struct GoalDraft {
    pub title: String,
    pub period: GoalPeriod,
    pub start_date: Option<DateTime<Utc>>,
    pub deadline: DateTime<Utc>,
}

/// An edit of a goal; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct GoalEdit {
    pub title: Option<String>,
    pub period: Option<GoalPeriod>,
    pub start_date: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
    pub status: Option<GoalStatus>,
}

/// A page of `owner`'s live goals, shown to `reader` (goals are private:
/// owner only), nearest deadline first.
pub async fn page_for_owner(
    conn: &mut AsyncPgConnection,
    reader: Option<Uuid>,
    owner: Uuid,
    filter: GoalFilter,
    after: Option<Keyset>,
    limit: i64,
) -> AppResult<Vec<Goal>> {
    crate::accounts::require_owner(reader, owner)?;
    Ok(goal::page_for_user(conn, owner, filter, after, limit).await?)
}

/// The one authorization check for goals: it exists (else NOT_FOUND) and the
/// user owns it (else FORBIDDEN).
pub fn authorize(goal: Option<Goal>, user_id: Uuid) -> AppResult<Goal> {
    match goal {
        None => Err(AppError::not_found("no such goal")),
        Some(goal) if goal.user_id != user_id => Err(AppError::forbidden()),
        Some(goal) => Ok(goal),
    }
}

fn check_dates(start: DateTime<Utc>, deadline: DateTime<Utc>) -> AppResult<()> {
    if deadline < start {
        return Err(AppError::bad_input(
            "deadline",
            "must not be before the start date",
        ));
    }
    Ok(())
}

/// Creates a goal for `user_id`.
pub async fn create(services: &Services, user_id: Uuid, draft: GoalDraft) -> AppResult<Goal> {
    let start_date = draft.start_date.unwrap_or_else(Utc::now);
    check_dates(start_date, draft.deadline)?;
    let goal = NewGoal {
        id: Uuid::now_v7(),
        user_id,
        title: title(&draft.title, "title")?,
        period: draft.period,
        start_date,
        deadline: draft.deadline,
    };
    let mut conn = services.pool.get().await?;
    let result: AppResult<_> = async {
        limits::count(
            &mut conn,
            &services.config.write_limits,
            user_id,
            Write::Goal,
        )
        .await?;
        Ok(goal::insert(&mut conn, &goal).await?)
    }
    .await;
    conn.finish(result).await
}

/// Edits a goal. COMPLETED sets `completedAt` (and earns points), ACTIVE clears it.
pub async fn update(
    services: &Services,
    user_id: Uuid,
    id: Uuid,
    edit: GoalEdit,
) -> AppResult<Goal> {
    let new_title = edit
        .title
        .as_deref()
        .map(|raw| title(raw, "title"))
        .transpose()?;
    let mut conn = services.pool.get().await?;
    let result: AppResult<_> = async {
        let conn: &mut AsyncPgConnection = &mut conn;
        conn.transaction::<_, AppError, _>(async move |conn| {
            let goal = authorize(goal::find(conn, id, true).await?, user_id)?;
            let start_date = edit.start_date.unwrap_or(goal.start_date);
            let deadline = edit.deadline.unwrap_or(goal.deadline);
            check_dates(start_date, deadline)?;
            let status = edit.status.unwrap_or(goal.status);
            let period = edit.period.unwrap_or(goal.period);
            let completed_at = match (goal.status, edit.status) {
                (GoalStatus::Active, Some(GoalStatus::Completed)) => Some(Some(Utc::now())),
                (_, Some(GoalStatus::Active)) => Some(None),
                _ => None,
            };
            let changes = GoalChanges {
                title: new_title,
                period: edit.period,
                status: edit.status,
                start_date: edit.start_date,
                deadline: edit.deadline,
                completed_at,
            };
            if changes.is_empty() {
                return Ok(goal);
            }
            let updated = goal::update(conn, id, &changes).await?;
            let delta = achievements::worth(period, status, true)
                - achievements::worth(goal.period, goal.status, true);
            achievements::apply(conn, user_id, delta).await?;
            Ok(updated)
        })
        .await
    }
    .await;
    conn.finish(result).await
}

/// Soft-deletes a goal; a completed goal's points go with it.
pub async fn delete(services: &Services, user_id: Uuid, id: Uuid) -> AppResult<()> {
    let mut conn = services.pool.get().await?;
    let result: AppResult<_> = async {
        let conn: &mut AsyncPgConnection = &mut conn;
        conn.transaction::<_, AppError, _>(async move |conn| {
            let goal = authorize(goal::find(conn, id, true).await?, user_id)?;
            goal::soft_delete(conn, id).await?;
            achievements::apply(
                conn,
                user_id,
                -achievements::worth(goal.period, goal.status, true),
            )
            .await
        })
        .await
    }
    .await;
    conn.finish(result).await
}
