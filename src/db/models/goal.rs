//! The `goals` table. Deleted goals (`deleted_at`) are invisible to every read here.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::enums::{GoalPeriod, GoalStatus};
use crate::db::pagination::{Direction, Keyset};
use crate::db::schema::goals;

/// A goal, as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = goals, check_for_backend(diesel::pg::Pg))]
pub struct Goal {
    pub id: Uuid,
    pub user_id: Uuid,
    pub title: String,
    pub period: GoalPeriod,
    pub status: GoalStatus,
    pub start_date: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A goal about to be inserted.
#[derive(Debug, Insertable)]
#[diesel(table_name = goals)]
pub struct NewGoal {
    pub id: Uuid,
    pub user_id: Uuid,
    pub title: String,
    pub period: GoalPeriod,
    pub start_date: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
}

/// Changes to a goal; `None` leaves a column alone.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = goals)]
pub struct GoalChanges {
    pub title: Option<String>,
    pub period: Option<GoalPeriod>,
    pub status: Option<GoalStatus>,
    pub start_date: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
    pub completed_at: Option<Option<DateTime<Utc>>>,
}

impl GoalChanges {
    /// True when nothing would change (diesel refuses an empty `SET`).
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.period.is_none()
            && self.status.is_none()
            && self.start_date.is_none()
            && self.deadline.is_none()
            && self.completed_at.is_none()
    }
}

/// Filters of a goal list.
#[derive(Debug, Clone, Copy, Default)]
pub struct GoalFilter {
    pub status: Option<GoalStatus>,
    pub period: Option<GoalPeriod>,
}

impl Goal {
    /// The keyset of this goal in its list.
    pub fn keyset(&self) -> Keyset {
        Keyset {
            at: self.deadline,
            id: self.id,
        }
    }
}

/// A live goal by id, locked for update when `for_update`.
pub async fn find(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    for_update: bool,
) -> QueryResult<Option<Goal>> {
    let query = goals::table
        .find(id)
        .filter(goals::deleted_at.is_null())
        .select(Goal::as_select());
    if for_update {
        query.for_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

/// Inserts a goal.
pub async fn insert(conn: &mut AsyncPgConnection, goal: &NewGoal) -> QueryResult<Goal> {
    diesel::insert_into(goals::table)
        .values(goal)
        .returning(Goal::as_returning())
        .get_result(conn)
        .await
}

/// Applies changes.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &GoalChanges,
) -> QueryResult<Goal> {
    diesel::update(goals::table.find(id))
        .set(changes)
        .returning(Goal::as_returning())
        .get_result(conn)
        .await
}

/// Soft-deletes a goal.
pub async fn soft_delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::update(goals::table.find(id))
        .set(goals::deleted_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
        .map(drop)
}

/// A page of a user's live goals, nearest deadline first, after the keyset `after`;
/// `limit` rows at most.
pub async fn page_for_user(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    filter: GoalFilter,
    after: Option<Keyset>,
    limit: i64,
) -> QueryResult<Vec<Goal>> {
    let mut query = goals::table
        .filter(goals::user_id.eq(user_id))
        .filter(goals::deleted_at.is_null())
        .select(Goal::as_select())
        .order((goals::deadline.asc(), goals::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(goals::status.eq(status));
    }
    if let Some(period) = filter.period {
        query = query.filter(goals::period.eq(period));
    }
    if let Some(after) = after {
        query = query.filter(after.condition("goals.deadline, goals.id", Direction::Newer));
    }
    query.load(conn).await
}
