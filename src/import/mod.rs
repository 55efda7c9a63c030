//! `growth-diary import-prisma`: moves the Next.js app's Prisma/NextAuth
//! database into this server's, in one transaction, at COPY speed.
//!
//! 1. [`source`] reads the source's catalog and builds a SELECT per model;
//! 2. [`stage`] streams every table into temporary staging tables here
//!    (provider tokens are encrypted on the way);
//! 3. [`plan`] decides every row: its new UUID v7, its parents' new ids,
//!    whether an earlier run imported it, or why it breaks this server's
//!    rules, the API's own input rules among them ([`rules`]) (then it is
//!    skipped whole, with its children, and reported);
//! 4. [`mod@write`] inserts the accepted rows and their old ids into
//!    `legacy_ids` (into an empty table, rows first and indexes after:
//!    [`bulk`]); a dry run stops before this and rolls back.
//!
//! The source is read in one REPEATABLE READ snapshot, so a running app can
//! stay up; an advisory lock keeps two imports into one database apart.
//! This module sits below the web layer: it uses db, auth and the domain's
//! rules (accounts, social, stories).

pub mod bulk;
pub mod plan;
pub mod report;
pub mod rules;
pub mod source;
pub mod stage;
pub mod write;

use std::time::Instant;

use tokio_postgres::IsolationLevel;

use crate::auth::secretbox::SecretBox;
use crate::config::{DatabaseConfig, EncryptionKey, QuietParser, parse_encryption_key};
use crate::db::connect::{self, ConnectError};
pub use report::Report;
use source::{Layout, SourceUrl};

/// Advisory lock key held by a running import ("import" in ASCII).
const IMPORT_LOCK_KEY: i64 = 0x696d_706f_7274;

/// What `import-prisma` needs.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub database: DatabaseConfig,

    /// The Next.js app's database: its Prisma `DATABASE_URL` (`?schema=` is honoured).
    #[arg(long = "from", env = "IMPORT_FROM_URL", value_parser = QuietParser(source::parse_url))]
    pub from: SourceUrl,

    /// Check every row and print what would be imported; write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// 32 bytes, base64: encrypts the imported provider tokens; unset: they are not imported.
    #[arg(long, env = "ENCRYPTION_KEY", value_parser = QuietParser(parse_encryption_key))]
    pub encryption_key: Option<EncryptionKey>,
}

/// Why an import failed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// This server's database could not be reached.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The source could not be reached or read.
    #[error("the source database: {0}")]
    Source(String),
    /// The source is not shaped like the Next.js app's database.
    #[error("the source database does not look like the Next.js app's: {0}")]
    NotPrisma(String),
    /// A statement on this server's database failed.
    #[error("{0}")]
    Target(String),
    /// The rows written differ from the rows planned (a bug; rolled back).
    #[error("the import was rolled back: {0}")]
    Inconsistent(String),
}

impl ImportError {
    /// Maps a driver error on the source, with what was being done.
    pub fn source(context: &'static str) -> impl Fn(tokio_postgres::Error) -> Self {
        move |err| Self::Source(format!("{context}: {}", connect::describe(&err)))
    }

    /// Maps a driver error while reading one source table.
    pub fn source_table(model: &'static str) -> impl Fn(tokio_postgres::Error) -> Self {
        move |err| {
            Self::Source(format!(
                "cannot read the table \"{model}\": {}",
                connect::describe(&err)
            ))
        }
    }

    /// Maps a driver error on this server's database, with what was being done.
    pub fn target(context: &'static str) -> impl Fn(tokio_postgres::Error) -> Self {
        move |err| Self::Target(format!("{context}: {}", connect::describe(&err)))
    }
}

/// Runs one import (or dry run) and reports it. The caller migrates first.
pub async fn run(args: &ImportArgs) -> Result<Report, ImportError> {
    let started = Instant::now();
    let timeout = args.database.connect_timeout();
    let mut source = connect::client(&args.from.url, timeout)
        .await
        .map_err(|err| {
            ImportError::Source(format!(
                "cannot connect to {}: {}",
                args.from.url,
                connect::describe(&err)
            ))
        })?;
    // The direct URL: temporary tables and COPY need one session throughout.
    let target_url = args.database.migration_url();
    let mut target =
        connect::client(target_url, timeout)
            .await
            .map_err(|err| ConnectError::Connect {
                url: target_url.to_string(),
                reason: connect::describe(&err),
            })?;
    let layout = Layout::inspect(&source, &args.from.schema).await?;
    let sealer = args.encryption_key.as_ref().map(SecretBox::new);
    let mut report = Report::new(args.dry_run);

    // Staging tables of a million rows: keep them in memory where possible.
    target
        .batch_execute("SET temp_buffers = '256MB'")
        .await
        .map_err(ImportError::target("cannot set up the session"))?;
    let snapshot = source
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(ImportError::source("cannot start a read-only snapshot"))?;
    let tx = target
        .transaction()
        .await
        .map_err(ImportError::target("cannot start the import transaction"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&IMPORT_LOCK_KEY])
        .await
        .map_err(ImportError::target("cannot take the import lock"))?;
    tx.batch_execute(
        "SET LOCAL statement_timeout = 0; SET LOCAL work_mem = '64MB'; SET LOCAL TimeZone = 'UTC'",
    )
    .await
    .map_err(ImportError::target("cannot set up the import transaction"))?;

    stage::all(&snapshot, &tx, &layout, sealer.as_ref(), &mut report).await?;
    snapshot
        .commit()
        .await
        .map_err(ImportError::source("cannot end the snapshot"))?;
    plan::all(&tx, &mut report).await?;
    if args.dry_run {
        tx.rollback()
            .await
            .map_err(ImportError::target("cannot end the dry run"))?;
    } else {
        write::all(&tx, &report).await?;
        tx.commit()
            .await
            .map_err(ImportError::target("cannot commit the import"))?;
        if report.tables.iter().any(|table| table.imported > 0) {
            // Fresh statistics, so the first queries on the new rows plan well.
            target
                .batch_execute(&format!("ANALYZE {}", write::TOUCHED))
                .await
                .map_err(ImportError::target("cannot analyze the imported tables"))?;
        }
    }
    report.elapsed = started.elapsed();
    Ok(report)
}
