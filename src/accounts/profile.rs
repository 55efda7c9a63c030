//! Profile edits, validated field by field.

use std::collections::HashSet;

use diesel_async::AsyncPgConnection;

use crate::db::constraints;
use crate::db::enums::ExperienceLevel;
use crate::db::models::user::{self, ProfileChanges, User};
use crate::error::{AppError, AppResult};
use crate::services::Services;

/// One field of an edit: left alone, cleared, or set.
#[derive(Debug, Clone, Default)]
pub enum Patch<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

/// A profile edit as the client sent it.
#[derive(Debug, Clone, Default)]
pub struct ProfileEdit {
    pub name: Patch<String>,
    pub image: Patch<String>,
    pub current_role: Patch<String>,
    pub experience_level: Patch<ExperienceLevel>,
    pub industry: Patch<String>,
    pub years_of_experience: Patch<i32>,
    pub current_skills: Patch<Vec<String>>,
    pub target_skills: Patch<Vec<String>>,
    pub bio: Patch<String>,
    pub current_goals: Patch<Vec<String>>,
}

/// Limits of the profile's fields.
pub mod limits {
    pub const NAME: usize = 100;
    pub const IMAGE: usize = 2048;
    pub const ROLE: usize = 100;
    pub const INDUSTRY: usize = 100;
    pub const BIO: usize = 2000;
    pub const SKILLS: usize = 50;
    pub const SKILL: usize = 50;
    pub const GOALS: usize = 20;
    pub const GOAL: usize = 200;
    pub const YEARS: std::ops::RangeInclusive<i32> = 0..=80;
}

/// Applies an edit to the actor's profile.
pub async fn update(
    services: &Services,
    user_id: uuid::Uuid,
    edit: ProfileEdit,
) -> AppResult<User> {
    let changes = validate(edit)?;
    let mut conn = services.pool.get().await?;
    let result: AppResult<_> = async {
        let conn: &mut AsyncPgConnection = &mut conn;
        if changes.is_empty() {
            return user::find(conn, user_id)
                .await?
                .ok_or_else(AppError::unauthenticated);
        }
        Ok(user::update_profile(conn, user_id, &changes).await?)
    }
    .await;
    conn.finish(result).await
}

/// Checks every field; the first bad one is BAD_USER_INPUT naming it.
pub fn validate(edit: ProfileEdit) -> AppResult<ProfileChanges> {
    Ok(ProfileChanges {
        name: text(edit.name, "name", limits::NAME)?,
        image: image(edit.image)?,
        current_role: text(edit.current_role, "currentRole", limits::ROLE)?,
        experience_level: match edit.experience_level {
            Patch::Keep => None,
            Patch::Clear => return Err(AppError::bad_input("experienceLevel", "cannot be null")),
            Patch::Set(level) => Some(level),
        },
        industry: text(edit.industry, "industry", limits::INDUSTRY)?,
        years_of_experience: match edit.years_of_experience {
            Patch::Keep => None,
            Patch::Clear => Some(None),
            Patch::Set(years) if limits::YEARS.contains(&years) => Some(Some(years)),
            Patch::Set(_) => {
                return Err(AppError::bad_input(
                    "yearsOfExperience",
                    constraints::YEARS_OF_EXPERIENCE_RANGE,
                ));
            }
        },
        current_skills: list(
            edit.current_skills,
            "currentSkills",
            limits::SKILLS,
            limits::SKILL,
        )?,
        target_skills: list(
            edit.target_skills,
            "targetSkills",
            limits::SKILLS,
            limits::SKILL,
        )?,
        bio: text(edit.bio, "bio", limits::BIO)?,
        current_goals: list(
            edit.current_goals,
            "currentGoals",
            limits::GOALS,
            limits::GOAL,
        )?,
    })
}

/// A nullable text field: trimmed; empty clears it.
fn text(
    patch: Patch<String>,
    field: &'static str,
    max: usize,
) -> AppResult<Option<Option<String>>> {
    match patch {
        Patch::Keep => Ok(None),
        Patch::Clear => Ok(Some(None)),
        Patch::Set(value) => {
            let value = value.trim();
            if value.chars().count() > max {
                return Err(AppError::bad_input(
                    field,
                    format!("must be at most {max} characters"),
                ));
            }
            Ok(Some((!value.is_empty()).then(|| value.to_owned())))
        }
    }
}

/// An http(s) URL, stored as given. It must also begin with `http://` or
/// `https://` as written: a URL parser forgives leading control characters,
/// tabs inside the scheme and a missing `//`, and the stored text must pass
/// `users_image_http` (`image ~* '^https?://'`) as well as the parser.
fn image(patch: Patch<String>) -> AppResult<Option<Option<String>>> {
    let checked = text(patch, "image", limits::IMAGE)?;
    if let Some(Some(url)) = &checked {
        let written = ["http://", "https://"].iter().any(|scheme| {
            url.get(..scheme.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(scheme))
        });
        let ok = written
            && url::Url::parse(url).is_ok_and(|url| matches!(url.scheme(), "http" | "https"));
        if !ok {
            return Err(AppError::bad_input("image", "must be an http(s) URL"));
        }
    }
    Ok(checked)
}

/// A display name as a user gave it (e.g. at sign-up): the profile's rules,
/// BAD_USER_INPUT on `name`; blank: none.
pub fn display_name(raw: &str) -> AppResult<Option<String>> {
    Ok(text(Patch::Set(raw.to_owned()), "name", limits::NAME)?.flatten())
}

/// A display name from a sign-in provider, held to `updateProfile`'s rules:
/// control characters dropped, cut at the name's limit (on a character
/// boundary), blank or unacceptable: none.
pub fn provider_name(raw: Option<&str>) -> Option<String> {
    let cleaned: String = raw?
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(limits::NAME)
        .collect();
    text(Patch::Set(cleaned), "name", limits::NAME)
        .ok()
        .flatten()
        .flatten()
}

/// A picture URL from a sign-in provider, kept only when `updateProfile`
/// would accept it (an http(s) URL within the image's limit).
pub fn provider_image(raw: Option<&str>) -> Option<String> {
    image(Patch::Set(raw?.to_owned())).ok().flatten().flatten()
}

/// A list of short texts: trimmed, without blanks or duplicates; null clears it.
/// The count is checked before any entry is read, and duplicates are found
/// with a set, so the work is linear in the list.
fn list(
    patch: Patch<Vec<String>>,
    field: &'static str,
    max_items: usize,
    max_len: usize,
) -> AppResult<Option<Vec<String>>> {
    let items = match patch {
        Patch::Keep => return Ok(None),
        Patch::Clear => return Ok(Some(Vec::new())),
        Patch::Set(items) => items,
    };
    if items.len() > max_items {
        return Err(AppError::bad_input(
            field,
            format!("must have at most {max_items} entries"),
        ));
    }
    let mut seen = HashSet::with_capacity(items.len());
    let mut cleaned: Vec<String> = Vec::with_capacity(items.len());
    for item in &items {
        let item = item.trim();
        if item.is_empty() {
            return Err(AppError::bad_input(field, "must not contain blank entries"));
        }
        if item.chars().count() > max_len {
            return Err(AppError::bad_input(
                field,
                format!("entries must be at most {max_len} characters"),
            ));
        }
        if seen.insert(item) {
            cleaned.push(item.to_owned());
        }
    }
    Ok(Some(cleaned))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: AppResult<ProfileChanges>) -> String {
        match result {
            Err(AppError::BadUserInput { field, .. }) => field.into_owned(),
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    #[test]
    fn bad_fields_are_named() {
        let edit = |f: fn(&mut ProfileEdit)| {
            let mut edit = ProfileEdit::default();
            f(&mut edit);
            validate(edit)
        };
        assert_eq!(
            field_of(edit(|e| e.years_of_experience = Patch::Set(81))),
            "yearsOfExperience"
        );
        assert_eq!(
            field_of(edit(|e| e.name = Patch::Set("x".repeat(101)))),
            "name"
        );
        assert_eq!(
            field_of(edit(|e| e.image = Patch::Set("javascript:alert(1)".into()))),
            "image"
        );
        assert_eq!(
            field_of(edit(|e| e.current_skills = Patch::Set(
                vec!["rust".into(); 1]
                    .into_iter()
                    .chain((0..60).map(|i| i.to_string()))
                    .collect()
            ))),
            "currentSkills"
        );
        assert_eq!(
            field_of(edit(|e| e.target_skills = Patch::Set(vec![" ".into()]))),
            "targetSkills"
        );
        assert_eq!(
            field_of(edit(|e| e.experience_level = Patch::Clear)),
            "experienceLevel"
        );
    }

    #[test]
    fn provider_profiles_follow_the_same_rules() {
        let long = "é".repeat(limits::NAME + 20);
        let name = provider_name(Some(&long)).unwrap();
        assert_eq!(
            name.chars().count(),
            limits::NAME,
            "cut, on a char boundary"
        );
        assert_eq!(
            provider_name(Some("  Ada\0 Lovelace\n ")).as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(provider_name(Some("   ")), None);
        assert_eq!(provider_name(None), None);

        assert_eq!(
            provider_image(Some("https://example.com/a.png")).as_deref(),
            Some("https://example.com/a.png")
        );
        assert_eq!(provider_image(Some("javascript:alert(1)")), None);
        assert_eq!(
            provider_image(Some("HTTPS://example.com/a.png")).as_deref(),
            Some("HTTPS://example.com/a.png")
        );
        for parsed_but_not_written_as_http in [
            "http:example.com/a.png",
            "ht\ttp://example.com/a.png",
            "\u{1}https://example.com/a.png",
        ] {
            assert_eq!(
                provider_image(Some(parsed_but_not_written_as_http)),
                None,
                "{parsed_but_not_written_as_http:?}"
            );
        }
        assert_eq!(provider_image(Some("data:image/png;base64,AAAA")), None);
        let too_long = format!("https://example.com/{}", "a".repeat(limits::IMAGE));
        assert_eq!(provider_image(Some(&too_long)), None);
    }

    #[test]
    fn good_fields_are_cleaned() {
        let changes = validate(ProfileEdit {
            name: Patch::Set("  Ada ".into()),
            bio: Patch::Set(String::new()),
            current_skills: Patch::Set(vec!["Rust".into(), " Rust ".into(), "SQL".into()]),
            years_of_experience: Patch::Set(80),
            ..ProfileEdit::default()
        })
        .unwrap();
        assert_eq!(changes.name, Some(Some("Ada".into())));
        assert_eq!(changes.bio, Some(None));
        assert_eq!(
            changes.current_skills,
            Some(vec!["Rust".to_string(), "SQL".to_string()])
        );
        assert_eq!(changes.years_of_experience, Some(Some(80)));
        assert!(changes.image.is_none());
    }
}
