//! Writing the accepted rows of every plan, parents first: one
//! `INSERT ... SELECT` per table and one for its mappings, so a million likes
//! are two statements. The like and reply counters follow from the server's
//! own statement-level triggers, once per statement.

use tokio_postgres::Transaction;

use crate::import::ImportError;
use crate::import::bulk;
use crate::import::plan::{self, ACCEPTED};
use crate::import::report::Report;
use crate::import::source::{self, Model};

/// One model's INSERT: the target table, its columns, and what fills them
/// from the model's plan table.
struct Insert {
    model: Model,
    table: &'static str,
    columns: &'static str,
    select: &'static str,
}

const INSERTS: [Insert; 10] = [
    Insert {
        model: source::USER,
        table: "users",
        columns: "(id, email, name, password_hash, verified, email_verified, image, \"current_role\",
                      experience_level, industry, years_of_experience, current_skills, target_skills, bio,
                      current_goals, achievement_score, daily_generation_count, last_generation_date,
                      created_at, updated_at)",
        select: "id, email, name, password, coalesce(verified, false), email_verified, image, job_role,
                 coalesce(experience_level, 'MID_LEVEL')::experience_level, industry, years_of_experience,
                 coalesce(array_remove(current_skills, NULL), '{}'), coalesce(array_remove(target_skills, NULL), '{}'),
                 bio, coalesce(array_remove(current_goals, NULL), '{}'), coalesce(achievement_score, 0),
                 coalesce(daily_generation_count, 0), last_generation_date,
                 coalesce(created_at, now()), coalesce(updated_at, created_at, now())",
    },
    Insert {
        model: source::GOAL,
        table: "goals",
        columns: "(id, user_id, title, period, status, start_date, deadline, completed_at, created_at, updated_at)",
        select: "id, user_id, title, period::goal_period, status::goal_status, start_date, deadline, completed_at,
                 coalesce(created_at, now()), coalesce(updated_at, created_at, now())",
    },
    Insert {
        model: source::POST,
        table: "posts",
        columns: "(id, author_id, title, content, status, created_at, updated_at)",
        select: "id, author_id, title, content, status::post_status,
                 coalesce(created_at, now()), coalesce(updated_at, created_at, now())",
    },
    Insert {
        model: source::LIKE,
        table: "likes",
        columns: "(id, user_id, post_id, created_at)",
        select: "id, user_id, post_id, coalesce(created_at, now())",
    },
    Insert {
        model: source::REPLY,
        table: "replies",
        columns: "(id, author_id, post_id, content, created_at, updated_at)",
        select: "id, author_id, post_id, content,
                 coalesce(created_at, now()), coalesce(updated_at, created_at, now())",
    },
    Insert {
        model: source::STORY,
        table: "stories",
        columns: "(id, user_id, period, content, created_at, updated_at)",
        select: "id, user_id, period, content,
                 coalesce(created_at, now()), coalesce(updated_at, created_at, now())",
    },
    Insert {
        model: source::ACCOUNT,
        table: "accounts",
        columns: "(id, user_id, type, provider, provider_account_id, refresh_token, access_token,
                         expires_at, token_type, scope, id_token, session_state)",
        select: "id, user_id, type, provider, provider_account_id, refresh_token, access_token,
                 expires_at, token_type, scope, id_token, session_state",
    },
    Insert {
        model: source::SESSION,
        table: "sessions",
        columns: "(id, user_id, session_token_sha256, expires)",
        select: "id, user_id, token_sha256, expires",
    },
    Insert {
        model: source::VERIFICATION_TOKEN,
        table: "verification_tokens",
        columns: "(identifier, token_sha256, expires)",
        select: "identifier, token_sha256, expires",
    },
    Insert {
        model: source::PASSWORD_RESET,
        table: "password_resets",
        columns: "(id, user_id, token_sha256, expires_at, used, created_at)",
        select: "id, user_id, token_sha256, expires_at, used, coalesce(created_at, now())",
    },
];

/// Writes every accepted row and its mapping. Each table must receive exactly
/// the rows its plan accepted, else the whole import fails (and rolls back).
/// Tables empty until now are filled first and indexed after ([`bulk`]).
pub async fn all(tx: &Transaction<'_>, report: &Report) -> Result<(), ImportError> {
    let planned_total: u64 = report.tables.iter().map(|table| table.imported).sum();
    let mappings = match planned_total {
        0 => None,
        _ => bulk::defer_if_empty(tx, "legacy_ids").await?,
    };
    for insert in &INSERTS {
        let model = insert.model.name;
        let planned = report.table(model).imported;
        if planned == 0 {
            continue;
        }
        let deferred = bulk::defer_if_empty(tx, insert.table).await?;
        let (mapped, written) = write_table(tx, insert).await?;
        if mapped != planned || written != planned {
            return Err(ImportError::Inconsistent(format!(
                "{model}: planned {planned} rows, mapped {mapped}, wrote {written}"
            )));
        }
        if let Some(deferred) = deferred {
            bulk::restore(tx, deferred).await?;
        }
        tracing::info!(model, rows = written, "imported");
    }
    if let Some(deferred) = mappings {
        bulk::restore(tx, deferred).await?;
    }
    Ok(())
}

/// Inserts one model's accepted rows and their mappings: (mapped, written).
async fn write_table(tx: &Transaction<'_>, insert: &Insert) -> Result<(u64, u64), ImportError> {
    let plan = plan::table(&insert.model);
    let model = insert.model.name;
    // Verification tokens map to no row: their `id` is NULL.
    let id = if model == source::VERIFICATION_TOKEN.name {
        "NULL::uuid"
    } else {
        "id"
    };
    let failed = ImportError::target("cannot write the imported rows");
    let mapped = tx
        .execute(
            &format!(
                "INSERT INTO legacy_ids (model, legacy_id, id)
                 SELECT '{model}', legacy_id, {id} FROM {plan} WHERE {ACCEPTED}"
            ),
            &[],
        )
        .await
        .map_err(&failed)?;
    let written = tx
        .execute(
            &format!(
                "INSERT INTO {} {} SELECT {} FROM {plan} WHERE {ACCEPTED}",
                insert.table, insert.columns, insert.select
            ),
            &[],
        )
        .await
        .map_err(&failed)?;
    Ok((mapped, written))
}

/// The tables an import writes, for ANALYZE once it is committed.
pub const TOUCHED: &str = "users, goals, posts, likes, replies, stories, accounts, sessions, \
                           verification_tokens, password_resets, legacy_ids";
