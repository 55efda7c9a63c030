//! The achievement score: completing a goal earns points by its period;
//! reopening it, deleting it or changing its period settles the difference.
//! The score always equals the points of the user's completed, live goals,
//! and it changes in the same transaction as the goal.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::enums::{GoalPeriod, GoalStatus};
use crate::db::models::user;
use crate::error::AppResult;

/// Points a completed goal of this period is worth.
pub fn points(period: GoalPeriod) -> i32 {
    match period {
        GoalPeriod::Daily => 1,
        GoalPeriod::Weekly => 5,
        GoalPeriod::Monthly => 20,
        GoalPeriod::Quarterly => 50,
        GoalPeriod::Yearly => 100,
    }
}

/// What a goal in this state contributes to the score (nothing once deleted).
pub fn worth(period: GoalPeriod, status: GoalStatus, live: bool) -> i32 {
    if live && status == GoalStatus::Completed {
        points(period)
    } else {
        0
    }
}

/// Moves the user's score by `delta` (inside the caller's transaction).
pub async fn apply(conn: &mut AsyncPgConnection, user_id: Uuid, delta: i32) -> AppResult<()> {
    if delta != 0 {
        user::add_achievement_points(conn, user_id, delta).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_completed_live_goals_count() {
        assert_eq!(worth(GoalPeriod::Weekly, GoalStatus::Completed, true), 5);
        assert_eq!(worth(GoalPeriod::Weekly, GoalStatus::Active, true), 0);
        assert_eq!(worth(GoalPeriod::Yearly, GoalStatus::Completed, false), 0);
        assert!(points(GoalPeriod::Daily) < points(GoalPeriod::Monthly));
    }
}
