//! The API's rules for a user: sign-up's email rule and `updateProfile`'s
//! validation, every profile field at once; a password hash this server
//! cannot check is dropped with a warning instead.

use futures_util::pin_mut;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Row, Transaction};

use super::{Verdict, judge_rows, reason, skip};
use crate::accounts::profile::{self, Patch, ProfileEdit};
use crate::auth::{email_address, password};
use crate::import::ImportError;
use crate::import::plan::ACCEPTED;
use crate::import::report::Report;

/// A user's profile as `updateProfile` stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Profile {
    name: Option<String>,
    image: Option<String>,
    job_role: Option<String>,
    industry: Option<String>,
    years_of_experience: Option<i32>,
    current_skills: Vec<String>,
    target_skills: Vec<String>,
    bio: Option<String>,
    current_goals: Vec<String>,
}

/// The columns of `plan_user` that [`users`] reads, in order.
const USER_COLUMNS: &str = "legacy_id, email, password, name, image, job_role, industry,
    years_of_experience, array_remove(current_skills, NULL), array_remove(target_skills, NULL),
    bio, array_remove(current_goals, NULL)";

fn source_profile(row: &Row) -> Profile {
    let list = |index: usize| row.get::<_, Option<Vec<String>>>(index).unwrap_or_default();
    Profile {
        name: row.get(3),
        image: row.get(4),
        job_role: row.get(5),
        industry: row.get(6),
        years_of_experience: row.get(7),
        current_skills: list(8),
        target_skills: list(9),
        bio: row.get(10),
        current_goals: list(11),
    }
}

/// The profile through `updateProfile`'s validation, every field set (a
/// missing one cleared): as it would store it, or the rule it breaks.
fn checked_profile(source: &Profile) -> Result<Profile, String> {
    let set = |value: &Option<String>| value.clone().map_or(Patch::Clear, Patch::Set);
    let changes = profile::validate(ProfileEdit {
        name: set(&source.name),
        image: set(&source.image),
        current_role: set(&source.job_role),
        experience_level: Patch::Keep,
        industry: set(&source.industry),
        years_of_experience: source.years_of_experience.map_or(Patch::Clear, Patch::Set),
        current_skills: Patch::Set(source.current_skills.clone()),
        target_skills: Patch::Set(source.target_skills.clone()),
        bio: set(&source.bio),
        current_goals: Patch::Set(source.current_goals.clone()),
    })
    .map_err(reason)?;
    Ok(Profile {
        name: changes.name.flatten(),
        image: changes.image.flatten(),
        job_role: changes.current_role.flatten(),
        industry: changes.industry.flatten(),
        years_of_experience: changes.years_of_experience.flatten(),
        current_skills: changes.current_skills.unwrap_or_default(),
        target_skills: changes.target_skills.unwrap_or_default(),
        bio: changes.bio.flatten(),
        current_goals: changes.current_goals.unwrap_or_default(),
    })
}

/// Users: the email must be one sign-up accepts and the profile one
/// `updateProfile` accepts; a password hash this server cannot check is
/// dropped with a warning (the user can set a password by a reset).
pub async fn users(tx: &Transaction<'_>, report: &mut Report) -> Result<(), ImportError> {
    let select = format!("SELECT {USER_COLUMNS} FROM plan_user WHERE {ACCEPTED}");
    let mut bad_hashes: Vec<String> = Vec::new();
    let verdicts = judge_rows(tx, &select, |row| {
        let email: &str = row.get(1);
        if email_address::normalize(email, "email").ok().as_deref() != Some(email) {
            return Verdict::Skip(format!("its email {email} is not a valid address"));
        }
        let source = source_profile(row);
        match checked_profile(&source) {
            Err(reason) => Verdict::Skip(reason),
            Ok(checked) if checked != source => Verdict::Clean(checked),
            Ok(_) => Verdict::Keep,
        }
    })
    .await?;
    skip(tx, "plan_user", &verdicts.skipped, &verdicts.reasons).await?;
    clean_users(tx, verdicts.cleaned).await?;

    // Hashes only of the users that are still to be written.
    let rows = tx
        .query(
            &format!(
                "SELECT legacy_id, password FROM plan_user WHERE {ACCEPTED} AND password IS NOT NULL"
            ),
            &[],
        )
        .await
        .map_err(ImportError::target("cannot read the planned users"))?;
    for row in &rows {
        let hash: &str = row.get(1);
        if !password::recognizes(hash) {
            let legacy_id: String = row.get(0);
            report.warn(format!(
                "User {legacy_id}: its password hash is in no format this server checks \
                 (bcrypt $2a$, $2b$ or $2y$ of cost 4 to {}, or argon2), so it comes without \
                 a password; a password reset sets one",
                password::MAX_BCRYPT_COST
            ));
            bad_hashes.push(legacy_id);
        }
    }
    tx.execute(
        "UPDATE plan_user SET password = NULL WHERE legacy_id = ANY($1)",
        &[&bad_hashes],
    )
    .await
    .map_err(ImportError::target("cannot plan the users"))?;
    Ok(())
}

/// Writes the cleaned profiles into `plan_user`: COPY into a temporary table
/// (lists of lists do not pass as parameters), then one UPDATE.
async fn clean_users(
    tx: &Transaction<'_>,
    cleaned: Vec<(String, Profile)>,
) -> Result<(), ImportError> {
    if cleaned.is_empty() {
        return Ok(());
    }
    let failed = ImportError::target("cannot plan the users");
    tx.batch_execute(
        "CREATE TEMP TABLE clean_user (legacy_id text, name text, image text, job_role text,
             industry text, years_of_experience integer, current_skills text[],
             target_skills text[], bio text, current_goals text[]) ON COMMIT DROP",
    )
    .await
    .map_err(&failed)?;
    let sink = tx
        .copy_in("COPY clean_user FROM STDIN (FORMAT binary)")
        .await
        .map_err(&failed)?;
    let types = [
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::INT4,
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
        Type::TEXT,
        Type::TEXT_ARRAY,
    ];
    let writer = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(writer);
    for (legacy_id, p) in &cleaned {
        let row: [&(dyn ToSql + Sync); 10] = [
            legacy_id,
            &p.name,
            &p.image,
            &p.job_role,
            &p.industry,
            &p.years_of_experience,
            &p.current_skills,
            &p.target_skills,
            &p.bio,
            &p.current_goals,
        ];
        writer.as_mut().write(&row).await.map_err(&failed)?;
    }
    writer.finish().await.map_err(&failed)?;
    tx.batch_execute(
        "UPDATE plan_user p SET name = c.name, image = c.image, job_role = c.job_role,
             industry = c.industry, years_of_experience = c.years_of_experience,
             current_skills = c.current_skills, target_skills = c.target_skills, bio = c.bio,
             current_goals = c.current_goals
         FROM clean_user c WHERE p.legacy_id = c.legacy_id;
         DROP TABLE clean_user;",
    )
    .await
    .map_err(&failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> Profile {
        Profile {
            name: Some("Ada".into()),
            image: Some("https://example.com/ada.png".into()),
            job_role: None,
            industry: None,
            years_of_experience: Some(7),
            current_skills: vec!["Rust".into(), "SQL".into()],
            target_skills: vec![],
            bio: None,
            current_goals: vec![],
        }
    }

    #[test]
    fn profiles_are_held_to_update_profiles_rules() {
        assert_eq!(checked_profile(&profile()), Ok(profile()));
        let messy = Profile {
            name: Some("  Ada ".into()),
            current_skills: vec!["Rust".into(), " Rust".into()],
            bio: Some("   ".into()),
            ..profile()
        };
        assert_eq!(
            checked_profile(&messy),
            Ok(Profile {
                current_skills: vec!["Rust".into()],
                ..profile()
            }),
            "cleaned as updateProfile stores it"
        );
        for (bad, why) in [
            (
                Profile {
                    image: Some("javascript:alert(document.cookie)".into()),
                    ..profile()
                },
                "its image must be an http(s) URL",
            ),
            (
                Profile {
                    name: Some("n".repeat(200 * 1024)),
                    ..profile()
                },
                "its name must be at most 100 characters",
            ),
            (
                Profile {
                    current_skills: (0..5000).map(|n| n.to_string()).collect(),
                    ..profile()
                },
                "its currentSkills must have at most 50 entries",
            ),
            (
                Profile {
                    years_of_experience: Some(81),
                    ..profile()
                },
                "its yearsOfExperience must be between 0 and 80",
            ),
        ] {
            assert_eq!(checked_profile(&bad), Err(why.to_string()));
        }
    }
}
