//! Email addresses at the edge: trimmed, lowercased and validated.

use crate::error::{AppError, AppResult};

/// Longest accepted address (RFC 5321's path limit).
const MAX_LENGTH: usize = 254;

/// The normalized form of `raw`, or BAD_USER_INPUT naming `field`.
pub fn normalize(raw: &str, field: &'static str) -> AppResult<String> {
    let email = raw.trim().to_lowercase();
    if email.len() > MAX_LENGTH
        || email.parse::<lettre::Address>().is_err()
        || !email
            .rsplit_once('@')
            .is_some_and(|(_, domain)| domain.contains('.'))
    {
        return Err(AppError::bad_input(field, "is not a valid email address"));
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        assert_eq!(
            normalize("  Ada@Example.COM ", "email").unwrap(),
            "ada@example.com"
        );
        assert!(normalize("not-an-email", "email").is_err());
        assert!(normalize("a@b", "email").is_err());
        assert!(normalize(&format!("{}@example.com", "a".repeat(250)), "email").is_err());
    }
}
