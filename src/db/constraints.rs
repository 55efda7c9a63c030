//! Constraint violations that are the user's doing, described in one place
//! (`crate::error` turns them into user errors).

/// What the user did wrong when a constraint refused a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// A unique rule: the thing exists already.
    Conflict(&'static str),
    /// A check on one input field.
    BadInput {
        field: &'static str,
        message: &'static str,
    },
}

/// The message of `users_years_of_experience_range`, which the profile's own
/// validation repeats before the database ever sees the value.
pub const YEARS_OF_EXPERIENCE_RANGE: &str = "must be between 0 and 80";

/// The user error a violated constraint stands for, or `None` when a violation
/// of it can only be a bug (and so is an internal error).
pub fn violation(constraint: &str) -> Option<Violation> {
    use Violation::{BadInput, Conflict};
    let violation = match constraint {
        "users_email_key" => Conflict("an account with this email already exists"),
        "users_years_of_experience_range" => BadInput {
            field: "yearsOfExperience",
            message: YEARS_OF_EXPERIENCE_RANGE,
        },
        "goals_deadline_after_start" => BadInput {
            field: "deadline",
            message: "must not be before the start date",
        },
        "likes_user_id_post_id_key" => Conflict("the post is already liked"),
        "stories_user_id_period_key" => Conflict("a story for this period already exists"),
        "accounts_provider_provider_account_id_key" => {
            Conflict("this sign-in is already linked to an account")
        }
        _ => return None,
    };
    Some(violation)
}
