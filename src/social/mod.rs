//! The diary's social core: goals, posts, likes and replies, with one
//! authorization check per kind of object and the input rules.

pub mod achievements;
pub mod announce;
pub mod goals;
pub mod limits;
pub mod notifications;
pub mod posts;
pub mod replies;

use crate::error::{AppError, AppResult};

/// Longest title of a goal or post.
pub const MAX_TITLE: usize = 200;
/// Longest post content.
pub const MAX_POST_CONTENT: usize = 50_000;
/// Longest reply.
pub const MAX_REPLY_CONTENT: usize = 10_000;

/// A title: trimmed, 1 to 200 characters.
pub fn title(raw: &str, field: &'static str) -> AppResult<String> {
    let title = raw.trim();
    match title.chars().count() {
        0 => Err(AppError::bad_input(field, "must not be empty")),
        n if n > MAX_TITLE => Err(AppError::bad_input(
            field,
            format!("must be at most {MAX_TITLE} characters"),
        )),
        _ => Ok(title.to_owned()),
    }
}

/// Free text of at most `max` characters; `required` refuses blank text.
pub fn body(raw: &str, field: &'static str, max: usize, required: bool) -> AppResult<String> {
    if required && raw.trim().is_empty() {
        return Err(AppError::bad_input(field, "must not be empty"));
    }
    if raw.chars().count() > max {
        return Err(AppError::bad_input(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_bodies_are_bounded() {
        assert_eq!(title("  Ship it ", "title").unwrap(), "Ship it");
        assert!(title("   ", "title").is_err());
        assert!(title(&"é".repeat(200), "title").is_ok());
        assert!(title(&"é".repeat(201), "title").is_err());
        assert!(body("", "content", 10, false).is_ok());
        assert!(body(" ", "content", 10, true).is_err());
        assert!(body(&"x".repeat(11), "content", 10, false).is_err());
    }
}
