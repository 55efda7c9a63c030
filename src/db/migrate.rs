//! Embedded migrations, applied under a PostgreSQL advisory lock so that
//! instances starting together never race.

use diesel::sql_types::BigInt;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::DatabaseConfig;
use crate::db::connect::{self, ConnectError};

/// Every migration of `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Advisory lock key held while migrating ("growth" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x6772_6f77_7468;

/// Set once the lock is held (not before: waiting for the lock is expected).
/// A migration that would queue behind live traffic for a table lock fails
/// fast instead of stalling every query behind it; a long index build may run.
const MIGRATION_TIMEOUTS: &str = "SET lock_timeout = '5s'; SET statement_timeout = '1h'";

/// Why migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("cannot take the migration lock: {0}")]
    Lock(diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
}

/// Applies every pending migration; returns the versions applied.
pub async fn run_pending(config: &DatabaseConfig) -> Result<Vec<String>, MigrateError> {
    with_harness(config, |harness| {
        harness
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
    })
    .await
}

/// Reverts every applied migration, newest first; returns the versions reverted.
/// For rollback tests and development databases only.
pub async fn revert_all(config: &DatabaseConfig) -> Result<Vec<String>, MigrateError> {
    with_harness(config, |harness| {
        harness
            .revert_all_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
    })
    .await
}

/// Versions of the migrations not applied yet.
pub async fn pending(config: &DatabaseConfig) -> Result<Vec<String>, MigrateError> {
    with_harness(config, |harness| {
        harness.pending_migrations(MIGRATIONS).map(|pending| {
            pending
                .iter()
                .map(|m| m.name().version().to_string())
                .collect()
        })
    })
    .await
}

type Harness = AsyncConnectionWrapper<AsyncPgConnection>;
type HarnessResult<T> = diesel::migration::Result<T>;

/// Runs `work` on a dedicated connection over the direct URL while holding the
/// advisory lock. Diesel's migration harness is synchronous, so it runs on a
/// blocking thread; the lock dies with the connection if the process does.
async fn with_harness<T, F>(config: &DatabaseConfig, work: F) -> Result<T, MigrateError>
where
    T: Send + 'static,
    F: FnOnce(&mut Harness) -> HarnessResult<T> + Send + 'static,
{
    let mut conn = connect::establish(config.migration_url(), config.connect_timeout()).await?;
    take_lock(&mut conn).await?;
    diesel_async::SimpleAsyncConnection::batch_execute(&mut conn, MIGRATION_TIMEOUTS)
        .await
        .map_err(MigrateError::Lock)?;
    let (mut conn, result) = tokio::task::spawn_blocking(move || {
        let mut harness = Harness::from(conn);
        let result = work(&mut harness).map_err(|err| MigrateError::Migration(err.to_string()));
        (harness.into_inner(), result)
    })
    .await
    .map_err(|err| MigrateError::Migration(format!("the migration task failed: {err}")))?;
    advisory(&mut conn, "SELECT pg_advisory_unlock($1)").await?;
    result
}

async fn advisory(
    conn: &mut AsyncPgConnection,
    statement: &'static str,
) -> Result<(), MigrateError> {
    diesel::sql_query(statement)
        .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
        .execute(conn)
        .await
        .map(drop)
        .map_err(MigrateError::Lock)
}

/// How often a waiting instance retries the migration lock.
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(250);

/// Takes the migration lock, polling with `pg_try_advisory_lock`. A blocking
/// `pg_advisory_lock` would keep a statement (and its snapshot) open while it
/// waits, and `CREATE INDEX CONCURRENTLY` in the lock holder waits for every
/// open snapshot: a deadlock.
async fn take_lock(conn: &mut AsyncPgConnection) -> Result<(), MigrateError> {
    #[derive(diesel::QueryableByName)]
    struct Taken {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        taken: bool,
    }
    for attempt in 0u64.. {
        let lock: Taken = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS taken")
            .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
            .get_result(conn)
            .await
            .map_err(MigrateError::Lock)?;
        if lock.taken {
            return Ok(());
        }
        if attempt % 40 == 0 {
            tracing::info!("another instance is migrating; waiting for it");
        }
        tokio::time::sleep(LOCK_RETRY).await;
    }
    unreachable!("the attempts never run out")
}
