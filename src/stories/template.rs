//! The default generator: offline, deterministic, and built only from the
//! user's own diary (names, titles and numbers), never placeholder text.

use std::fmt::Write;

use crate::db::enums::{GoalStatus, PostStatus};
use crate::stories::generator::{GenerationError, StoryGenerator};
use crate::stories::material::{StoryMaterial, day, excerpt};

/// Writes stories from a template.
pub struct TemplateGenerator;

#[async_trait::async_trait]
impl StoryGenerator for TemplateGenerator {
    async fn generate(&self, material: &StoryMaterial) -> Result<String, GenerationError> {
        Ok(write(material))
    }
}

/// The story of `material`.
pub fn write(material: &StoryMaterial) -> String {
    let mut story = String::new();
    let period = material.period.describe();
    let noun = material.period.kind.noun();
    let user = &material.user;
    let role = user
        .current_role
        .as_deref()
        .map(|role| format!(" as a {role}"))
        .unwrap_or_default();
    let _ = write!(story, "{}'s story of {period}\n\n", material.name());

    let published = material
        .posts
        .iter()
        .filter(|post| post.status == PostStatus::Published)
        .count();
    let drafts = material.posts.len() - published;
    if material.posts.is_empty() && material.goals.is_empty() {
        let _ = write!(
            story,
            "This {noun} left no entries in your diary{role}. A quiet stretch is part of growing too: \
             one short post about what you learned would give your next story something to tell."
        );
        return story;
    }

    let _ = write!(
        story,
        "Over {period} you wrote {} diary {}",
        material.posts.len(),
        plural(material.posts.len(), "entry", "entries")
    );
    if drafts > 0 {
        let _ = write!(story, " ({published} published, {drafts} still drafts)");
    }
    let _ = write!(story, "{role}.");
    if let Some(newest) = material.posts.first() {
        let _ = write!(
            story,
            " The latest, \"{}\" on {}, reads: \"{}\"",
            newest.title,
            day(newest.created_at),
            excerpt(&newest.content)
        );
    }
    if material.posts.len() > 1 {
        let titles: Vec<String> = material
            .posts
            .iter()
            .skip(1)
            .take(4)
            .map(|post| format!("\"{}\"", post.title))
            .collect();
        let _ = write!(story, " Before that came {}.", titles.join(", "));
    }

    let completed: Vec<_> = material
        .goals
        .iter()
        .filter(|goal| goal.status == GoalStatus::Completed)
        .collect();
    let active: Vec<_> = material
        .goals
        .iter()
        .filter(|goal| goal.status == GoalStatus::Active)
        .collect();
    if !completed.is_empty() {
        let names: Vec<String> = completed
            .iter()
            .map(|goal| format!("\"{}\"", goal.title))
            .collect();
        let _ = write!(
            story,
            "\n\nYou completed {} {}: {}.",
            completed.len(),
            plural(completed.len(), "goal", "goals"),
            names.join(", ")
        );
    }
    if !active.is_empty() {
        let names: Vec<String> = active
            .iter()
            .take(5)
            .map(|goal| format!("\"{}\" (due {})", goal.title, day(goal.deadline)))
            .collect();
        let _ = write!(story, "\n\nStill in progress: {}.", names.join(", "));
    }

    if !material.replies.is_empty() {
        let people: std::collections::BTreeSet<&str> = material
            .replies
            .iter()
            .map(|reply| reply.from.as_deref().unwrap_or("someone"))
            .collect();
        let _ = write!(
            story,
            "\n\nOthers noticed: you received {} {} from {}.",
            material.replies.len(),
            plural(material.replies.len(), "reply", "replies"),
            people.into_iter().collect::<Vec<_>>().join(", ")
        );
        if let Some(reply) = material.replies.first() {
            let _ = write!(
                story,
                " {} wrote: \"{}\"",
                reply.from.as_deref().unwrap_or("Someone"),
                excerpt(&reply.content)
            );
        }
    }

    if !user.target_skills.is_empty() {
        let _ = write!(
            story,
            "\n\nNext: keep building toward {}.",
            user.target_skills.join(", ")
        );
    }
    story
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}
