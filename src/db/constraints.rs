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
        // The API's input rules (migration 2026-12-06-100001): the API checks
        // each first, so meeting one here is a rule that drifted from its
        // constraint; still the client's input, named. The limits live with
        // the rules, in the domain, so the messages do not repeat them.
        "users_name_length" => too_long("name"),
        "users_image_http" => BadInput {
            field: "image",
            message: "must be an http(s) URL no longer than this server accepts",
        },
        "users_current_role_length" => too_long("currentRole"),
        "users_industry_length" => too_long("industry"),
        "users_bio_length" => too_long("bio"),
        "users_current_skills_size" => too_many("currentSkills"),
        "users_target_skills_size" => too_many("targetSkills"),
        "users_current_goals_size" => too_many("currentGoals"),
        "goals_title_length" | "posts_title_length" => BadInput {
            field: "title",
            message: "must not be empty or longer than this server accepts",
        },
        "posts_content_length" => too_long("content"),
        "replies_content_length" => BadInput {
            field: "content",
            message: "must not be empty or longer than this server accepts",
        },
        // stories_content_length is not here: a story is the generator's
        // text, cut to fit before it is stored, so a violation is a bug.
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

fn too_long(field: &'static str) -> Violation {
    Violation::BadInput {
        field,
        message: "is longer than this server accepts",
    }
}

fn too_many(field: &'static str) -> Violation {
    Violation::BadInput {
        field,
        message: "has more entries, or longer ones, than this server accepts",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every constraint of the API's rules but the story's is a user error.
    #[test]
    fn the_api_rules_constraints_are_user_errors() {
        let migration = include_str!("../../migrations/2026-12-06-100001_api_rules_checks/up.sql");
        let names: Vec<&str> = migration
            .split("ADD CONSTRAINT ")
            .skip(1)
            .filter_map(|rest| rest.split_whitespace().next())
            .collect();
        assert_eq!(names.len(), 13, "{names:?}");
        for name in names {
            let mapped = violation(name);
            if name == "stories_content_length" {
                assert_eq!(mapped, None);
            } else {
                assert!(matches!(mapped, Some(Violation::BadInput { .. })), "{name}");
            }
        }
    }
}
