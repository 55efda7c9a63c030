//! `backup` and `restore`: PostgreSQL's own `pg_dump` (custom format) and
//! `pg_restore`, run with the server's connection settings (TLS included),
//! so a backup of the embedded database is taken the same way as one of a
//! server's.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::{DatabaseConfig, DatabaseUrl};
use crate::db::connect;
use crate::db::embedded::system;

/// Why a backup or a restore did not complete.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// PostgreSQL's programs were not found.
    #[error(transparent)]
    Programs(#[from] crate::db::embedded::EmbeddedError),
    /// A program could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    /// A program ran and failed (it printed why on stderr).
    #[error("{program} failed ({status})")]
    Failed {
        program: PathBuf,
        status: std::process::ExitStatus,
    },
    /// The target database could not be reached or created.
    #[error(transparent)]
    Connect(#[from] connect::ConnectError),
    /// A restore goes only into an empty database.
    #[error(
        "the database {0} already has tables: restore into a new, empty database (set DATABASE_URL to one), or drop this one first"
    )]
    NotEmpty(String),
    /// The backup file is missing or unreadable.
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Writes the whole database to `to` in pg_dump's custom format (compressed;
/// `pg_restore --list` shows what is inside).
pub async fn backup(config: &DatabaseConfig, to: &Path) -> Result<(), BackupError> {
    let mut command = Command::new(program(config, "pg_dump")?);
    command
        .arg("--format=custom")
        .arg("--no-owner")
        .arg("--no-privileges")
        .arg("--file")
        .arg(to);
    run(command, config.migration_url()).await
}

/// Loads a backup made by [`backup`] into the configured database, which must
/// be empty (it is created when missing), in one transaction: a failed
/// restore leaves the database as it was.
pub async fn restore(config: &DatabaseConfig, from: &Path) -> Result<(), BackupError> {
    std::fs::File::open(from).map_err(|source| BackupError::Read {
        path: from.to_path_buf(),
        source,
    })?;
    connect::ensure_database(config).await?;
    let url = config.migration_url();
    if has_tables(url, config).await? {
        return Err(BackupError::NotEmpty(url.database_name().to_string()));
    }
    let mut command = Command::new(program(config, "pg_restore")?);
    command
        .arg("--no-owner")
        .arg("--no-privileges")
        .arg("--single-transaction")
        .arg("--exit-on-error")
        .arg("--dbname")
        .arg(url.database_name())
        .arg(from);
    run(command, url).await
}

/// `name` beside the PostgreSQL the embedded database would use (following
/// a symlinked `initdb` to its real directory), else on PATH.
fn program(config: &DatabaseConfig, name: &str) -> Result<PathBuf, BackupError> {
    let dir = system::find_programs(config.postgres_bin_dir.as_deref())?;
    let real_dir = std::fs::canonicalize(dir.join("initdb"))
        .ok()
        .and_then(|initdb| initdb.parent().map(Path::to_path_buf));
    Ok([Some(dir), real_dir]
        .into_iter()
        .flatten()
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from(name)))
}

async fn has_tables(url: &DatabaseUrl, config: &DatabaseConfig) -> Result<bool, BackupError> {
    let describe = |err: tokio_postgres::Error| connect::ConnectError::Connect {
        url: url.to_string(),
        reason: connect::describe(&err),
    };
    let client = connect::client(url, config.connect_timeout())
        .await
        .map_err(describe)?;
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema'))",
            &[],
        )
        .await
        .map_err(describe)?;
    Ok(row.get(0))
}

/// Runs a PostgreSQL program against `url` (as libpq environment variables:
/// the password never appears on a command line), its output passed through.
async fn run(mut command: Command, url: &DatabaseUrl) -> Result<(), BackupError> {
    // Only the settings of this URL: a PGSERVICE or PGOPTIONS of the caller's
    // environment would point the program somewhere else.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            command.env_remove(key);
        }
    }
    command.envs(url.libpq_env());
    let program = PathBuf::from(command.get_program());
    let status = tokio::task::spawn_blocking(move || command.status())
        .await
        .map_err(|err| BackupError::Spawn {
            program: program.clone(),
            source: std::io::Error::other(err),
        })?
        .map_err(|source| BackupError::Spawn {
            program: program.clone(),
            source,
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(BackupError::Failed { program, status })
    }
}
