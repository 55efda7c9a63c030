//! What a story is made from, and the prompt it becomes.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::models::story::{self, GoalItem, PostItem, ReplyItem};
use crate::db::models::user::{self, User};
use crate::error::{AppError, AppResult};
use crate::stories::period::Period;

/// Largest prompt, in characters: newest material first, older material is
/// left out once the budget is spent.
pub const MAX_PROMPT_CHARS: usize = 12_000;
/// Longest excerpt of one post or reply in the prompt.
const EXCERPT_CHARS: usize = 600;

/// The diary material of one user and period.
#[derive(Debug, Clone)]
pub struct StoryMaterial {
    pub period: Period,
    pub user: User,
    pub goals: Vec<GoalItem>,
    pub posts: Vec<PostItem>,
    pub replies: Vec<ReplyItem>,
}

impl StoryMaterial {
    /// Loads the material (the caller releases the connection before generating).
    pub async fn load(
        conn: &mut AsyncPgConnection,
        user_id: Uuid,
        period: Period,
    ) -> AppResult<Self> {
        let user = user::find(conn, user_id)
            .await?
            .ok_or_else(AppError::unauthenticated)?;
        let goals = story::goals_in(conn, user_id, period.start, period.end).await?;
        let posts = story::posts_in(conn, user_id, period.start, period.end).await?;
        let replies = story::replies_received_in(conn, user_id, period.start, period.end).await?;
        Ok(Self {
            period,
            user,
            goals,
            posts,
            replies,
        })
    }

    /// The user's display name.
    pub fn name(&self) -> &str {
        self.user
            .name
            .as_deref()
            .filter(|name| !name.trim().is_empty())
            .unwrap_or("You")
    }

    /// The prompt for a language model, within [`MAX_PROMPT_CHARS`].
    pub fn prompt(&self) -> String {
        let user = &self.user;
        let mut prompt = format!(
            "Write the growth story of {} for {}, in the second person, warm and concrete, 150 to 300 words. \
             Use only the facts below; mention real titles and numbers.\n\nProfile: {}, {:?} level, {} years of experience, industry {}. \
             Skills: {}. Learning: {}.\n",
            self.name(),
            self.period.describe(),
            user.current_role.as_deref().unwrap_or("role not given"),
            user.experience_level,
            user.years_of_experience
                .map_or("unknown".to_string(), |y| y.to_string()),
            user.industry.as_deref().unwrap_or("not given"),
            list_or_none(&user.current_skills),
            list_or_none(&user.target_skills),
        );
        let mut sections = Vec::new();
        sections.extend(self.goals.iter().map(|goal| {
            let state = match goal.completed_at {
                Some(at) => format!("completed {}", day(at)),
                None => format!("active, due {}", day(goal.deadline)),
            };
            format!("Goal ({:?}): {} - {state}\n", goal.period, goal.title)
        }));
        sections.extend(self.posts.iter().map(|post| {
            format!(
                "Diary post {} ({:?}): {} - {}\n",
                day(post.created_at),
                post.status,
                post.title,
                excerpt(&post.content)
            )
        }));
        sections.extend(self.replies.iter().map(|reply| {
            format!(
                "Reply from {} on \"{}\" {}: {}\n",
                reply.from.as_deref().unwrap_or("someone"),
                reply.post_title,
                day(reply.created_at),
                excerpt(&reply.content)
            )
        }));
        for section in sections {
            if prompt.len() + section.len() > MAX_PROMPT_CHARS {
                break;
            }
            prompt.push_str(&section);
        }
        prompt
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none listed".to_string()
    } else {
        items.join(", ")
    }
}

/// `2026-11-22`
pub fn day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// The first `EXCERPT_CHARS` characters of a text, on one line.
pub fn excerpt(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= EXCERPT_CHARS {
        flat
    } else {
        format!("{}…", flat.chars().take(EXCERPT_CHARS).collect::<String>())
    }
}
