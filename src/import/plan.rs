//! Deciding, row by row and before anything is written, what to import.
//!
//! Each model gets a plan table built from its staging table: the row's new
//! id (a UUID v7 carrying its `createdAt`), its parents' new ids, `done` when
//! an earlier run imported it, and `skip`, the reason it breaks this server's
//! rules (NULL: import it): the rules of its data model here, and the API's
//! input rules ([`rules`]). Children are planned against the accepted parents
//! of this run plus the parents imported earlier that still exist here, so a
//! skipped parent takes its children with it, each reported.

use tokio_postgres::Transaction;

use crate::auth::tokens;
use crate::db::enums::GoalPeriod;
use crate::import::report::{Report, SkippedRow, TableCounts};
use crate::import::source::{self, Model};
use crate::import::{ImportError, rules};
use crate::social::achievements;

/// The rows of a plan table that are to be written.
pub const ACCEPTED: &str = "NOT done AND skip IS NULL";

/// Plans every model, then counts and reports.
pub async fn all(tx: &Transaction<'_>, report: &mut Report) -> Result<(), ImportError> {
    // The API's rules run on each table before its children are planned, so
    // a row they refuse takes its children with it.
    run(tx, &users_sql()).await?;
    rules::users(tx, report).await?;
    run(tx, LIVE_USERS).await?;
    run(tx, &goals_sql()).await?;
    rules::goals(tx).await?;
    run(tx, &scores_sql()).await?;
    run(tx, &posts_sql()).await?;
    rules::posts(tx).await?;
    run(tx, LIVE_POSTS).await?;
    run(tx, &likes_sql()).await?;
    run(tx, &replies_sql()).await?;
    rules::replies(tx).await?;
    run(tx, &stories_sql()).await?;
    rules::stories(tx).await?;
    run(tx, &accounts_sql()).await?;
    run(tx, &sessions_sql()).await?;
    run(tx, &verification_tokens_sql()).await?;
    run(tx, &password_resets_sql()).await?;
    for model in source::MODELS {
        tally(tx, &model, report).await?;
    }
    Ok(())
}

/// The plan table of a model.
pub fn table(model: &Model) -> String {
    model.staging.replacen("src_", "plan_", 1)
}

async fn run(tx: &Transaction<'_>, sql: &str) -> Result<(), ImportError> {
    tx.batch_execute(sql)
        .await
        .map_err(ImportError::target("cannot plan the import"))
}

async fn tally(
    tx: &Transaction<'_>,
    model: &Model,
    report: &mut Report,
) -> Result<(), ImportError> {
    let plan = table(model);
    let counts = tx
        .query_one(
            &format!(
                "SELECT count(*), count(*) FILTER (WHERE done),
                        count(*) FILTER (WHERE {ACCEPTED}), count(*) FILTER (WHERE skip IS NOT NULL)
                 FROM {plan}"
            ),
            &[],
        )
        .await
        .map_err(ImportError::target("cannot count the plan"))?;
    let count = |index: usize| u64::try_from(counts.get::<_, i64>(index)).unwrap_or_default();
    report.tables.push(TableCounts {
        model: model.name,
        source: count(0),
        already: count(1),
        imported: count(2),
        skipped: count(3),
    });
    let skipped = tx
        .query(
            &format!("SELECT label, skip FROM {plan} WHERE skip IS NOT NULL ORDER BY label"),
            &[],
        )
        .await
        .map_err(ImportError::target("cannot list the skipped rows"))?;
    report.skipped.extend(skipped.iter().map(|row| SkippedRow {
        model: model.name,
        row: row.get(0),
        reason: row.get(1),
    }));
    Ok(())
}

/// A UUID v7 (RFC 9562) whose 48-bit millisecond timestamp is `at`, so an
/// imported row's id sorts by its `createdAt` like a row made here; the rest
/// is `gen_random_uuid()`'s random bits with the version set to 7 (its
/// variant bits are already RFC 9562's). Inline SQL: one call per row of a
/// million-row table must cost no function call.
fn uuid_v7_at(at: &str) -> String {
    let hex = format!(
        "lpad(to_hex(least(greatest(floor(extract(epoch FROM {at}) * 1000), 0), 281474976710655)::bigint), 12, '0')"
    );
    format!(
        "(substr({hex}, 1, 8) || '-' || substr({hex}, 9, 4) || '-7' || substr(gen_random_uuid()::text, 16))::uuid"
    )
}

/// The new id of a staged row `s` with a `created_at`.
fn new_id() -> String {
    uuid_v7_at("coalesce(s.created_at, now())")
}

/// The reason a row's parent is not here: skipped in this run, deleted here
/// after an earlier run imported it, or never in the source.
fn missing(role: &str, column: &str, parent: &Model) -> String {
    format!(
        "format('its {role} %s %s', {column}, CASE \
             WHEN EXISTS (SELECT 1 FROM legacy_ids x WHERE x.model = '{model}' AND x.legacy_id = {column}) THEN 'was deleted here' \
             WHEN EXISTS (SELECT 1 FROM {plan} x WHERE x.legacy_id = {column}) THEN 'is skipped' \
             ELSE 'does not exist in the source' END)",
        model = parent.name,
        plan = table(parent),
    )
}

/// `value` is not a label of the PostgreSQL enum `enum_type`.
fn not_in_enum(value: &str, enum_type: &str, what: &str) -> String {
    format!(
        "WHEN {value} <> ALL (enum_range(NULL::{enum_type})::text[]) \
         THEN format('its {what} %s is not one of this server''s', {value})"
    )
}

/// The anti-join with earlier runs' mappings: `d.legacy_id` is set for done rows.
fn done_join(model: &Model, key: &str) -> String {
    format!(
        "LEFT JOIN legacy_ids d ON d.model = '{}' AND d.legacy_id = {key}",
        model.name
    )
}

fn users_sql() -> String {
    format!(
        "CREATE TEMP TABLE plan_user ON COMMIT DROP AS
         SELECT s.legacy_id AS label, s.legacy_id, {id} AS id, lower(btrim(s.email)) AS email,
                s.name, s.password, s.verified, s.email_verified, s.image, s.job_role,
                s.experience_level, s.industry, s.years_of_experience, s.current_skills,
                s.target_skills, s.bio, s.current_goals, s.achievement_score,
                s.daily_generation_count, s.last_generation_date, s.created_at, s.updated_at,
                d.legacy_id IS NOT NULL AS done,
                CASE
                    WHEN d.legacy_id IS NOT NULL THEN NULL
                    WHEN s.first_legacy_id <> s.legacy_id THEN format(
                        'its email %s is also the email of user %s (emails are case-insensitive here)',
                        s.email, s.first_legacy_id)
                    WHEN EXISTS (SELECT 1 FROM users u WHERE u.email = lower(btrim(s.email))) THEN format(
                        'an account with the email %s already exists here', lower(btrim(s.email)))
                    {level}
                    WHEN s.daily_generation_count < 0 THEN format(
                        'its daily generation count (%s) is negative', s.daily_generation_count)
                END AS skip
         FROM (SELECT *, first_value(legacy_id) OVER (
                   PARTITION BY lower(btrim(email)) ORDER BY created_at NULLS LAST, legacy_id
               ) AS first_legacy_id
               FROM src_user) s
         {done};
         CREATE UNIQUE INDEX ON plan_user (legacy_id);
         ANALYZE plan_user;",
        id = new_id(),
        level = not_in_enum("s.experience_level", "experience_level", "experience level"),
        done = done_join(&source::USER, "s.legacy_id"),
    )
}

/// Users children may point at: accepted now, or imported earlier and still here.
const LIVE_USERS: &str = "
    CREATE TEMP TABLE live_user ON COMMIT DROP AS
    SELECT legacy_id, id, email, true AS fresh FROM plan_user WHERE NOT done AND skip IS NULL
    UNION ALL
    SELECT m.legacy_id, u.id, u.email, false
    FROM legacy_ids m JOIN users u ON u.id = m.id WHERE m.model = 'User';
    CREATE UNIQUE INDEX ON live_user (legacy_id);
    ANALYZE live_user;";

fn goals_sql() -> String {
    format!(
        "CREATE TEMP TABLE plan_goal ON COMMIT DROP AS
         SELECT s.legacy_id AS label, s.legacy_id, {id} AS id, u.id AS user_id, s.title, s.period,
                coalesce(s.status, 'ACTIVE') AS status,
                coalesce(s.start_date, s.created_at, now()) AS start_date, s.deadline,
                s.completed_at, s.created_at, s.updated_at,
                d.legacy_id IS NOT NULL AS done,
                CASE
                    WHEN d.legacy_id IS NOT NULL THEN NULL
                    WHEN u.id IS NULL THEN {user}
                    {period}
                    {status}
                    WHEN s.deadline < coalesce(s.start_date, s.created_at, now()) THEN format(
                        'its deadline %s is before its start date %s',
                        s.deadline, coalesce(s.start_date, s.created_at, now()))
                END AS skip
         FROM src_goal s
         {done}
         LEFT JOIN live_user u ON u.legacy_id = s.user_legacy;
         ANALYZE plan_goal;",
        id = new_id(),
        user = missing("user", "s.user_legacy", &source::USER),
        period = not_in_enum("s.period", "goal_period", "period"),
        status = not_in_enum("s.status", "goal_status", "status"),
        done = done_join(&source::GOAL, "s.legacy_id"),
    )
}

/// A user whose source has no achievement score gets this server's: the
/// points of its completed goals ([`achievements::points`]).
fn scores_sql() -> String {
    let periods = [
        (GoalPeriod::Daily, "DAILY"),
        (GoalPeriod::Weekly, "WEEKLY"),
        (GoalPeriod::Monthly, "MONTHLY"),
        (GoalPeriod::Quarterly, "QUARTERLY"),
        (GoalPeriod::Yearly, "YEARLY"),
    ];
    let arms: String = periods
        .iter()
        .map(|(period, label)| format!(" WHEN '{label}' THEN {}", achievements::points(*period)))
        .collect();
    format!(
        "UPDATE plan_user p SET achievement_score = coalesce(g.points, 0)
         FROM plan_user q
         LEFT JOIN (SELECT user_id, sum(CASE period{arms} ELSE 0 END)::integer AS points
                    FROM plan_goal WHERE {ACCEPTED} AND status = 'COMPLETED'
                    GROUP BY user_id) g ON g.user_id = q.id
         WHERE q.legacy_id = p.legacy_id AND p.achievement_score IS NULL
           AND NOT p.done AND p.skip IS NULL;"
    )
}

fn posts_sql() -> String {
    format!(
        "CREATE TEMP TABLE plan_post ON COMMIT DROP AS
         SELECT s.legacy_id AS label, s.legacy_id, {id} AS id, u.id AS author_id, s.title,
                s.content, coalesce(s.status, 'DRAFT') AS status, s.created_at, s.updated_at,
                d.legacy_id IS NOT NULL AS done,
                CASE
                    WHEN d.legacy_id IS NOT NULL THEN NULL
                    WHEN u.id IS NULL THEN {author}
                    {status}
                END AS skip
         FROM src_post s
         {done}
         LEFT JOIN live_user u ON u.legacy_id = s.author_legacy;
         CREATE UNIQUE INDEX ON plan_post (legacy_id);
         ANALYZE plan_post;",
        id = new_id(),
        author = missing("author", "s.author_legacy", &source::USER),
        status = not_in_enum("s.status", "post_status", "status"),
        done = done_join(&source::POST, "s.legacy_id"),
    )
}

/// Posts children may point at: accepted now, or imported earlier and still here.
const LIVE_POSTS: &str = "
    CREATE TEMP TABLE live_post ON COMMIT DROP AS
    SELECT legacy_id, id, true AS fresh FROM plan_post WHERE NOT done AND skip IS NULL
    UNION ALL
    SELECT m.legacy_id, p.id, false
    FROM legacy_ids m JOIN posts p ON p.id = m.id WHERE m.model = 'Post';
    CREATE UNIQUE INDEX ON live_post (legacy_id);
    ANALYZE live_post;";

fn likes_sql() -> String {
    format!(
        "CREATE TEMP TABLE plan_like ON COMMIT DROP AS
         SELECT s.legacy_id AS label, s.legacy_id, {id} AS id, u.id AS user_id, p.id AS post_id,
                s.created_at,
                d.legacy_id IS NOT NULL AS done,
                CASE
                    WHEN d.legacy_id IS NOT NULL THEN NULL
                    WHEN u.id IS NULL THEN {user}
                    WHEN p.id IS NULL THEN {post}
                    WHEN NOT (u.fresh OR p.fresh) AND EXISTS (
                        SELECT 1 FROM likes l WHERE l.user_id = u.id AND l.post_id = p.id
                    ) THEN 'its user already likes its post here'
                END AS skip
         FROM src_like s
         {done}
         LEFT JOIN live_user u ON u.legacy_id = s.user_legacy
         LEFT JOIN live_post p ON p.legacy_id = s.post_legacy;",
        id = new_id(),
        user = missing("user", "s.user_legacy", &source::USER),
        post = missing("post", "s.post_legacy", &source::POST),
        done = done_join(&source::LIKE, "s.legacy_id"),
    )
}

fn replies_sql() -> String {
    format!(
        "CREATE TEMP TABLE plan_reply ON COMMIT DROP AS
         SELECT s.legacy_id AS label, s.legacy_id, {id} AS id, u.id AS author_id, p.id AS post_id,
                s.content, s.created_at, s.updated_at,
                d.legacy_id IS NOT NULL AS done,
                CASE
                    WHEN d.legacy_id IS NOT NULL THEN NULL
                    WHEN p.id IS NULL THEN {post}
                    WHEN u.id IS NULL THEN {author}
                END AS skip
         FROM src_reply s
         {done}
         LEFT JOIN live_user u ON u.legacy_id = s.author_legacy
         LEFT JOIN live_post p ON p.legacy_id = s.post_legacy;",
        id = new_id(),
        post = missing("post", "s.post_legacy", &source::POST),
        author = missing("author", "s.author_legacy", &source::USER),
        done = done_join(&source::REPLY, "s.legacy_id"),
    )
}

fn stories_sql() -> String {
    format!(
        "CREATE TEMP TABLE plan_story ON COMMIT DROP AS
         SELECT s.legacy_id AS label, s.legacy_id, {id} AS id, u.id AS user_id, s.period,
                s.content, s.created_at, s.updated_at,
                d.legacy_id IS NOT NULL AS done,
                CASE
                    WHEN d.legacy_id IS NOT NULL THEN NULL
                    WHEN u.id IS NULL THEN {user}
                    WHEN NOT u.fresh AND EXISTS (
                        SELECT 1 FROM stories x WHERE x.user_id = u.id AND x.period = s.period
                    ) THEN format('its user already has a story of %s here', s.period)
                END AS skip
         FROM src_story s
         {done}
         LEFT JOIN live_user u ON u.legacy_id = s.user_legacy;",
        id = new_id(),
        user = missing("user", "s.user_legacy", &source::USER),
        done = done_join(&source::STORY, "s.legacy_id"),
    )
}

fn accounts_sql() -> String {
    format!(
        "CREATE TEMP TABLE plan_account ON COMMIT DROP AS
         SELECT s.legacy_id AS label, s.legacy_id, uuid_generate_v7() AS id, u.id AS user_id,
                s.type, s.provider, s.provider_account_id, s.refresh_token, s.access_token,
                s.expires_at, s.token_type, s.scope, s.id_token, s.session_state,
                d.legacy_id IS NOT NULL AS done,
                CASE
                    WHEN d.legacy_id IS NOT NULL THEN NULL
                    WHEN u.id IS NULL THEN {user}
                    WHEN EXISTS (
                        SELECT 1 FROM accounts a
                        WHERE a.provider = s.provider AND a.provider_account_id = s.provider_account_id
                    ) THEN format('the %s account %s is already linked to a user here',
                                  s.provider, s.provider_account_id)
                END AS skip
         FROM src_account s
         {done}
         LEFT JOIN live_user u ON u.legacy_id = s.user_legacy;",
        user = missing("user", "s.user_legacy", &source::USER),
        done = done_join(&source::ACCOUNT, "s.legacy_id"),
    )
}

/// Tokens are stored as this server stores its own: their SHA-256 only, so a
/// session or a link issued by the old app keeps working until it expires.
const TOKEN_SHA256: &str = "sha256(convert_to(s.{column}, 'UTF8'))";

fn token_sha256(column: &str) -> String {
    TOKEN_SHA256.replace("{column}", column)
}

/// A token shorter than the API accepts ([`tokens::is_acceptable`]: the same
/// count, as `char_length` counts characters as Rust's `chars` does) could be
/// guessed; it is never imported.
fn too_short(column: &str) -> String {
    let min = tokens::MIN_LENGTH;
    format!(
        "WHEN char_length({column}) < {min} THEN format(\
             'its token is %s characters long; tokens here are at least {min}', char_length({column}))"
    )
}

fn sessions_sql() -> String {
    format!(
        "CREATE TEMP TABLE plan_session ON COMMIT DROP AS
         SELECT s.legacy_id AS label, s.legacy_id, uuid_generate_v7() AS id, u.id AS user_id,
                {hash} AS token_sha256, s.expires,
                d.legacy_id IS NOT NULL AS done,
                CASE
                    WHEN d.legacy_id IS NOT NULL THEN NULL
                    WHEN u.id IS NULL THEN {user}
                    {short}
                    WHEN EXISTS (SELECT 1 FROM sessions x WHERE x.session_token_sha256 = {hash})
                    THEN 'its token is already in use here'
                END AS skip
         FROM src_session s
         {done}
         LEFT JOIN live_user u ON u.legacy_id = s.user_legacy;",
        hash = token_sha256("session_token"),
        short = too_short("s.session_token"),
        user = missing("user", "s.user_legacy", &source::USER),
        done = done_join(&source::SESSION, "s.legacy_id"),
    )
}

/// A verification token has no id: its mapping is keyed by the hex SHA-256 of
/// the token. Its identifier (an email, or the id of a user) becomes the
/// user's email, which is what this server's tokens name.
fn verification_tokens_sql() -> String {
    format!(
        "CREATE TEMP TABLE plan_verification_token ON COMMIT DROP AS
         SELECT s.identifier AS label, encode(h.sha256, 'hex') AS legacy_id, h.sha256 AS token_sha256,
                coalesce(by_email.email, by_id.email) AS identifier, s.expires,
                d.legacy_id IS NOT NULL AS done,
                CASE
                    WHEN d.legacy_id IS NOT NULL THEN NULL
                    WHEN coalesce(by_email.email, by_id.email) IS NULL THEN format(
                        'its identifier %s is neither the email nor the id of a user imported here',
                        s.identifier)
                    {short}
                    WHEN EXISTS (SELECT 1 FROM verification_tokens x WHERE x.token_sha256 = h.sha256)
                    THEN 'its token is already in use here'
                END AS skip
         FROM src_verification_token s
         CROSS JOIN LATERAL (SELECT {hash} AS sha256) h
         {done}
         LEFT JOIN live_user by_email ON by_email.email = lower(btrim(s.identifier))
         LEFT JOIN live_user by_id ON by_id.legacy_id = s.identifier;",
        hash = token_sha256("token"),
        short = too_short("s.token"),
        done = done_join(&source::VERIFICATION_TOKEN, "encode(h.sha256, 'hex')"),
    )
}

fn password_resets_sql() -> String {
    format!(
        "CREATE TEMP TABLE plan_password_reset ON COMMIT DROP AS
         SELECT s.legacy_id AS label, s.legacy_id, {id} AS id, u.id AS user_id,
                {hash} AS token_sha256, s.expires_at, coalesce(s.used, false) AS used, s.created_at,
                d.legacy_id IS NOT NULL AS done,
                CASE
                    WHEN d.legacy_id IS NOT NULL THEN NULL
                    WHEN u.id IS NULL THEN {user}
                    {short}
                    WHEN EXISTS (SELECT 1 FROM password_resets x WHERE x.token_sha256 = {hash})
                    THEN 'its token is already in use here'
                END AS skip
         FROM src_password_reset s
         {done}
         LEFT JOIN live_user u ON u.legacy_id = s.user_legacy;",
        id = new_id(),
        hash = token_sha256("token"),
        short = too_short("s.token"),
        user = missing("user", "s.user_legacy", &source::USER),
        done = done_join(&source::PASSWORD_RESET, "s.legacy_id"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_tables_follow_staging_tables() {
        assert_eq!(table(&source::USER), "plan_user");
        assert_eq!(
            table(&source::VERIFICATION_TOKEN),
            "plan_verification_token"
        );
    }

    #[test]
    fn scores_use_this_servers_points() {
        let sql = scores_sql();
        assert!(sql.contains("WHEN 'DAILY' THEN 1"), "{sql}");
        assert!(sql.contains("WHEN 'YEARLY' THEN 100"), "{sql}");
    }
}
