//! Constraint violations that are the user's doing, mapped to user errors in one place.

use crate::error::AppError;

/// The user error a violated constraint stands for, or `None` when a violation
/// of it can only be a bug (and so is an internal error).
pub fn user_error(constraint: &str) -> Option<AppError> {
    let error = match constraint {
        "users_email_key" => AppError::conflict("an account with this email already exists"),
        "users_years_of_experience_range" => {
            AppError::bad_input("yearsOfExperience", "must be between 0 and 80")
        }
        "goals_deadline_after_start" => {
            AppError::bad_input("deadline", "must not be before the start date")
        }
        "likes_user_id_post_id_key" => AppError::conflict("the post is already liked"),
        "stories_user_id_period_key" => {
            AppError::conflict("a story for this period already exists")
        }
        "accounts_provider_provider_account_id_key" => {
            AppError::conflict("this sign-in is already linked to an account")
        }
        _ => return None,
    };
    Some(error)
}
