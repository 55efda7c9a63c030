//! Migrations: they apply, revert, re-apply to the same schema, never race,
//! and leave no foreign key without an index.

use std::process::Command;

use growth_diary::db::{connect, migrate, pool};

use crate::harness::TestDb;

fn schema_dump(db: &TestDb) -> String {
    let config = db.url.config();
    let host = match &config.get_hosts()[0] {
        tokio_postgres::config::Host::Tcp(host) => host.clone(),
        tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
    };
    let output = Command::new("pg_dump")
        .args(["--schema-only", "--no-owner", "--no-privileges"])
        .args([
            "--host",
            &host,
            "--port",
            &config.get_ports()[0].to_string(),
        ])
        .args(["--username", config.get_user().unwrap_or("postgres")])
        .arg(db.url.database_name())
        .output()
        .expect("pg_dump runs (it ships with PostgreSQL's client)");
    assert!(
        output.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dump = String::from_utf8(output.stdout).expect("pg_dump prints UTF-8");
    // `\restrict` lines carry a random key that differs on every run.
    dump.lines()
        .filter(|line| !line.starts_with("\\restrict") && !line.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_round_trip_to_the_same_schema() {
    let db = TestDb::empty().await;
    let config = db.config();
    let applied = migrate::run_pending(&config).await.unwrap();
    assert!(applied.len() >= 2, "every migration applies: {applied:?}");
    let before = schema_dump(&db);
    assert!(before.contains("CREATE TABLE public.users"));

    let reverted = migrate::revert_all(&config).await.unwrap();
    assert_eq!(reverted.len(), applied.len(), "every migration reverts");
    let client = db.client().await;
    let leftovers = client
        .query(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S', 'v', 'm')
               AND c.relname <> '__diesel_schema_migrations'
             UNION ALL SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname = 'public' AND t.typtype = 'e'
             UNION ALL SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public'",
            &[],
        )
        .await
        .unwrap();
    let leftovers: Vec<String> = leftovers.iter().map(|row| row.get(0)).collect();
    assert!(
        leftovers.is_empty(),
        "down.sql leaves nothing behind, found {leftovers:?}"
    );

    let reapplied = migrate::run_pending(&config).await.unwrap();
    assert_eq!(reapplied, applied);
    let after = schema_dump(&db);
    let changed: Vec<_> = before
        .lines()
        .zip(after.lines())
        .filter(|(b, a)| b != a)
        .take(5)
        .collect();
    assert!(
        before == after,
        "the schema after the round trip differs from before: {changed:#?}"
    );
    assert!(migrate::pending(&config).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_together_do_not_race() {
    let db = TestDb::empty().await;
    let config = db.config();
    let (a, b, c) = tokio::join!(
        migrate::run_pending(&config),
        migrate::run_pending(&config),
        migrate::run_pending(&config)
    );
    let mut applied: Vec<Vec<String>> = vec![a.unwrap(), b.unwrap(), c.unwrap()];
    applied.sort_by_key(Vec::len);
    assert!(
        applied[0].is_empty() && applied[1].is_empty(),
        "only one runner applies"
    );
    assert!(applied[2].len() >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_foreign_key_has_an_index_that_starts_with_its_columns() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let unindexed = client
        .query(
            "SELECT c.conrelid::regclass::text, c.conname
             FROM pg_constraint c
             WHERE c.contype = 'f'
               AND NOT EXISTS (
                 SELECT 1 FROM pg_index i
                 WHERE i.indrelid = c.conrelid
                   AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] = c.conkey
               )",
            &[],
        )
        .await
        .unwrap();
    let unindexed: Vec<String> = unindexed
        .iter()
        .map(|row| format!("{}.{}", row.get::<_, String>(0), row.get::<_, String>(1)))
        .collect();
    assert!(
        unindexed.is_empty(),
        "foreign keys without an index: {unindexed:?}"
    );

    let foreign_keys: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        foreign_keys >= 10,
        "the check sees the model's foreign keys ({foreign_keys})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updated_at_is_kept_by_the_database() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let row = client
        .query_one(
            "INSERT INTO users (email, created_at, updated_at) VALUES ('a@example.com', now() - interval '1 day', now() - interval '1 day') RETURNING id, updated_at",
            &[],
        )
        .await
        .unwrap();
    let id: uuid::Uuid = row.get(0);
    assert_eq!(id.get_version_num(), 7, "database-made ids are UUID v7 too");
    let before: chrono::DateTime<chrono::Utc> = row.get(1);
    let after: chrono::DateTime<chrono::Utc> = client
        .query_one(
            "UPDATE users SET name = 'A' WHERE id = $1 RETURNING updated_at",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(after > before, "the trigger moved updated_at forward");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_user_cascades_to_everything_it_owns() {
    let db = TestDb::new().await;
    let client = db.client().await;
    client
        .batch_execute(
            "WITH u AS (INSERT INTO users (email) VALUES ('owner@example.com') RETURNING id),
                  p AS (INSERT INTO posts (author_id, title, content, status) SELECT id, 't', 'c', 'PUBLISHED' FROM u RETURNING id, author_id),
                  g AS (INSERT INTO goals (user_id, title, period, deadline) SELECT id, 'g', 'WEEKLY', now() + interval '7 days' FROM u),
                  l AS (INSERT INTO likes (user_id, post_id) SELECT author_id, id FROM p),
                  r AS (INSERT INTO replies (author_id, post_id, content) SELECT author_id, id, 'r' FROM p),
                  s AS (INSERT INTO stories (user_id, period, content) SELECT id, '2026-11', 's' FROM u),
                  a AS (INSERT INTO accounts (user_id, type, provider, provider_account_id) SELECT id, 'oauth', 'github', '1' FROM u),
                  se AS (INSERT INTO sessions (user_id, session_token_sha256, expires) SELECT id, sha256('t'), now() FROM u)
             INSERT INTO password_resets (user_id, token_sha256, expires_at) SELECT id, sha256('r'), now() FROM u;
             DELETE FROM users;",
        )
        .await
        .unwrap();
    for table in [
        "posts",
        "goals",
        "likes",
        "replies",
        "stories",
        "accounts",
        "sessions",
        "password_resets",
    ] {
        let count: i64 = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(count, 0, "{table} rows remain after the user was deleted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_database_is_created() {
    let db = TestDb::empty().await;
    let missing = db
        .url
        .with_database(&format!("{}_new", db.url.database_name()));
    let config = growth_diary::config::DatabaseConfig::for_url(missing.clone());
    connect::ensure_database(&config).await.unwrap();
    connect::ensure_database(&config).await.unwrap();
    let client = db.client().await;
    let exists = client
        .query_opt(
            "SELECT 1 FROM pg_database WHERE datname = $1",
            &[&missing.database_name()],
        )
        .await
        .unwrap()
        .is_some();
    client
        .batch_execute(&format!(
            "DROP DATABASE {} WITH (FORCE)",
            connect::quote_identifier(missing.database_name())
        ))
        .await
        .unwrap();
    assert!(exists);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pooled_connections_carry_a_statement_timeout() {
    use diesel_async::RunQueryDsl;
    let db = TestDb::new().await;
    let mut config = db.config();
    config.database_statement_timeout_ms = 200;
    let pool = pool::build(&config, &pool::StatementCounter::default()).unwrap();
    let mut conn = pool.get().await.unwrap();
    let started = std::time::Instant::now();
    let result = diesel::sql_query("SELECT pg_sleep(5)")
        .execute(&mut conn)
        .await;
    assert!(
        result.is_err(),
        "a statement longer than the timeout is cancelled"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
}
