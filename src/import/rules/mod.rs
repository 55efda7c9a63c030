//! The API's own input rules, run on every planned row a run would write,
//! before anything is written. They are the functions the API itself calls
//! (`updateProfile`'s, `createPost`'s, `addReply`'s, `createGoal`'s, sign-up's
//! email rule, story periods), so each rule has one home. A row they refuse is
//! skipped with their reason, and the plan then skips the rows that hang on it;
//! a row they accept is written as the API would store it (texts trimmed, list
//! entries trimmed and without duplicates).
//!
//! Rows are streamed from the plan tables; only the verdicts are kept. The
//! users' rules are in [`users`].

pub use users::users;

mod users;

use futures_util::{TryStreamExt, pin_mut};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Transaction};

use crate::error::AppError;
use crate::import::ImportError;
use crate::import::plan::ACCEPTED;
use crate::social::{self, MAX_POST_CONTENT, MAX_REPLY_CONTENT};
use crate::stories::MAX_STORY_CONTENT;
use crate::stories::period::Period;

/// What the rules make of one row.
enum Verdict<T> {
    /// Written as it is.
    Keep,
    /// Written as the API would store it.
    Clean(T),
    /// Not written, for this reason.
    Skip(String),
}

/// The verdicts of one plan table: skipped rows with their reasons, and the
/// cleaned values of the rows written differently from their source.
struct Verdicts<T> {
    skipped: Vec<String>,
    reasons: Vec<String>,
    cleaned: Vec<(String, T)>,
}

/// A rule's refusal as the report prints it: "its title must not be empty".
fn reason(err: AppError) -> String {
    match err {
        AppError::BadUserInput { field, message } => format!("its {field} {message}"),
        other => format!("it breaks a rule of this server: {}", other.message()),
    }
}

/// Streams `select` (its first column: the row's legacy id) through `judge`.
async fn judge_rows<T>(
    tx: &Transaction<'_>,
    select: &str,
    judge: impl Fn(&Row) -> Verdict<T>,
) -> Result<Verdicts<T>, ImportError> {
    let failed = ImportError::target("cannot read the planned rows");
    let rows = tx
        .query_raw(select, std::iter::empty::<&(dyn ToSql + Sync)>())
        .await
        .map_err(&failed)?;
    pin_mut!(rows);
    let mut verdicts = Verdicts {
        skipped: Vec::new(),
        reasons: Vec::new(),
        cleaned: Vec::new(),
    };
    while let Some(row) = rows.try_next().await.map_err(&failed)? {
        let legacy_id: String = row.get(0);
        match judge(&row) {
            Verdict::Keep => {}
            Verdict::Clean(value) => verdicts.cleaned.push((legacy_id, value)),
            Verdict::Skip(reason) => {
                verdicts.skipped.push(legacy_id);
                verdicts.reasons.push(reason);
            }
        }
    }
    Ok(verdicts)
}

/// Marks the refused rows of `plan` skipped.
async fn skip(
    tx: &Transaction<'_>,
    plan: &str,
    skipped: &[String],
    reasons: &[String],
) -> Result<(), ImportError> {
    if skipped.is_empty() {
        return Ok(());
    }
    tx.execute(
        &format!(
            "UPDATE {plan} p SET skip = r.reason
             FROM unnest($1::text[], $2::text[]) AS r (legacy_id, reason)
             WHERE p.legacy_id = r.legacy_id"
        ),
        &[&skipped, &reasons],
    )
    .await
    .map_err(ImportError::target("cannot plan the import"))?;
    Ok(())
}

/// Skips the refused rows of a plan whose only cleaned value is the text
/// `column`, and writes the cleaned values.
async fn apply_text(
    tx: &Transaction<'_>,
    plan: &str,
    column: &str,
    verdicts: Verdicts<String>,
) -> Result<(), ImportError> {
    skip(tx, plan, &verdicts.skipped, &verdicts.reasons).await?;
    if verdicts.cleaned.is_empty() {
        return Ok(());
    }
    let (ids, values): (Vec<String>, Vec<String>) = verdicts.cleaned.into_iter().unzip();
    tx.execute(
        &format!(
            "UPDATE {plan} p SET {column} = c.value
             FROM unnest($1::text[], $2::text[]) AS c (legacy_id, value)
             WHERE p.legacy_id = c.legacy_id"
        ),
        &[&ids, &values],
    )
    .await
    .map_err(ImportError::target("cannot plan the import"))?;
    Ok(())
}

/// A title as `createGoal` and `createPost` take it.
fn title_verdict(raw: &str) -> Result<Option<String>, String> {
    let title = social::title(raw, "title").map_err(reason)?;
    Ok((title != raw).then_some(title))
}

/// Goals: their titles.
pub async fn goals(tx: &Transaction<'_>) -> Result<(), ImportError> {
    let select = format!("SELECT legacy_id, title FROM plan_goal WHERE {ACCEPTED}");
    let verdicts = judge_rows(tx, &select, |row| match title_verdict(row.get(1)) {
        Err(reason) => Verdict::Skip(reason),
        Ok(Some(title)) => Verdict::Clean(title),
        Ok(None) => Verdict::Keep,
    })
    .await?;
    apply_text(tx, "plan_goal", "title", verdicts).await
}

/// Posts: title and content, as `createPost` takes them.
pub async fn posts(tx: &Transaction<'_>) -> Result<(), ImportError> {
    let select = format!("SELECT legacy_id, title, content FROM plan_post WHERE {ACCEPTED}");
    let verdicts = judge_rows(tx, &select, |row| {
        if let Err(err) = social::body(row.get(2), "content", MAX_POST_CONTENT, false) {
            return Verdict::Skip(reason(err));
        }
        match title_verdict(row.get(1)) {
            Err(reason) => Verdict::Skip(reason),
            Ok(Some(title)) => Verdict::Clean(title),
            Ok(None) => Verdict::Keep,
        }
    })
    .await?;
    apply_text(tx, "plan_post", "title", verdicts).await
}

/// Replies: their content, as `addReply` takes it (stored as given).
pub async fn replies(tx: &Transaction<'_>) -> Result<(), ImportError> {
    let select = format!("SELECT legacy_id, content FROM plan_reply WHERE {ACCEPTED}");
    let verdicts = judge_rows(tx, &select, |row| {
        match social::body(row.get(1), "content", MAX_REPLY_CONTENT, true) {
            Err(err) => Verdict::Skip(reason(err)),
            Ok(_) => Verdict::<String>::Keep,
        }
    })
    .await?;
    apply_text(tx, "plan_reply", "content", verdicts).await
}

/// Stories: a period `generateStory` understands, written as it writes one,
/// and no more content than it keeps.
pub async fn stories(tx: &Transaction<'_>) -> Result<(), ImportError> {
    let select = format!("SELECT legacy_id, period, content FROM plan_story WHERE {ACCEPTED}");
    let verdicts = judge_rows(tx, &select, |row| {
        let raw: &str = row.get(1);
        let content: &str = row.get(2);
        match Period::parse(raw) {
            Err(err) => Verdict::Skip(reason(err)),
            // Trimming could make two of a user's periods one.
            Ok(period) if period.label != raw => {
                Verdict::Skip(format!("its period {raw:?} has spaces around it"))
            }
            Ok(_) if content.chars().count() > MAX_STORY_CONTENT => Verdict::Skip(format!(
                "its content is longer than {MAX_STORY_CONTENT} characters, the longest story kept here"
            )),
            Ok(_) => Verdict::<String>::Keep,
        }
    })
    .await?;
    apply_text(tx, "plan_story", "period", verdicts).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_or_refused() {
        assert_eq!(title_verdict("Ship it"), Ok(None));
        assert_eq!(title_verdict(" Ship it "), Ok(Some("Ship it".into())));
        assert_eq!(
            title_verdict(&"t".repeat(100 * 1024)),
            Err("its title must be at most 200 characters".into())
        );
        assert_eq!(
            title_verdict("  "),
            Err("its title must not be empty".into())
        );
    }
}
