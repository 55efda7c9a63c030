//! The command line: `serve` (the default), `migrate`, `print-schema`, `seed`, `import-prisma`, `check-documents`, `backup` and `restore`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{DatabaseConfig, LogFormat, ServeConfig};
use crate::{app, db, graphql, import, seed, telemetry};

/// The GraphQL server of a social growth diary.
#[derive(Debug, Parser)]
#[command(
    name = "growth-diary",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// Log line format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Option<Command>,

    /// Settings of `serve`, which runs when no command is given.
    #[command(flatten)]
    pub serve: ServeConfig,
}

/// What to do.
#[derive(Debug, Subcommand)]
#[expect(
    clippy::large_enum_variant,
    reason = "parsed once at start-up; boxing buys nothing"
)]
pub enum Command {
    /// Serve the GraphQL API (the default).
    Serve(ServeConfig),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseConfig),
    /// Print the GraphQL schema (SDL) to standard output.
    PrintSchema,
    /// Fill the database with demo data (users, goals, posts, likes, replies).
    Seed(seed::SeedArgs),
    /// Import the Next.js app's Prisma/NextAuth database (again: only what is new).
    ImportPrisma(import::ImportArgs),
    /// Check a trusted-documents manifest (hashes, syntax, the schema) offline.
    CheckDocuments(CheckDocumentsArgs),
    /// Write the whole database to a file (pg_dump's custom format).
    Backup(BackupArgs),
    /// Load a backup into an empty database (created when missing).
    Restore(RestoreArgs),
}

/// Arguments of `backup`.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// The file to write.
    #[arg(long)]
    pub to: std::path::PathBuf,
}

/// Arguments of `restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// A file written by `backup`.
    #[arg(long)]
    pub from: std::path::PathBuf,
}

/// Arguments of `check-documents`.
#[derive(Debug, clap::Args)]
pub struct CheckDocumentsArgs {
    /// The manifest: a JSON object of `"<sha256 hex>": "<document>"` entries.
    pub path: std::path::PathBuf,
}

/// Parses the command line, runs the command, and turns any failure into one line on stderr.
pub async fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            // --help and --version
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            let rendered = err.render().to_string();
            eprintln!(
                "{}",
                rendered
                    .lines()
                    .next()
                    .unwrap_or("error: invalid arguments")
            );
            return ExitCode::from(2);
        }
    };
    telemetry::init(cli.log_format);
    let result = match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(config) => app::run(config).await,
        Command::Migrate(mut config) => match db::embedded::prepare(&mut config).await {
            Ok(embedded) => stopping(embedded, migrate(&config).await).await,
            Err(err) => Err(err.into()),
        },
        Command::PrintSchema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Seed(mut args) => match db::embedded::prepare(&mut args.database).await {
            Ok(embedded) => stopping(embedded, seed(&args).await).await,
            Err(err) => Err(err.into()),
        },
        Command::ImportPrisma(mut args) => {
            let embedded = match db::embedded::prepare(&mut args.database).await {
                Ok(embedded) => embedded,
                Err(err) => {
                    eprintln!("error: {err}");
                    return ExitCode::FAILURE;
                }
            };
            let code = import_prisma(&args).await;
            return stopping(embedded, code).await;
        }
        Command::CheckDocuments(args) => return check_documents(&args).await,
        Command::Backup(mut args) => match db::embedded::prepare(&mut args.database).await {
            Ok(embedded) => {
                let done = db::backup::backup(&args.database, &args.to).await;
                stopping(embedded, done.map_err(app::StartError::from)).await
            }
            Err(err) => Err(err.into()),
        },
        Command::Restore(mut args) => match db::embedded::prepare(&mut args.database).await {
            Ok(embedded) => {
                let done = db::backup::restore(&args.database, &args.from).await;
                stopping(embedded, done.map_err(app::StartError::from)).await
            }
            Err(err) => Err(err.into()),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Stops an embedded database (if one was started) once a command is done.
async fn stopping<T>(embedded: Option<db::embedded::EmbeddedCluster>, result: T) -> T {
    if let Some(cluster) = embedded {
        cluster.stop().await;
    }
    result
}

async fn seed(args: &seed::SeedArgs) -> Result<(), app::StartError> {
    migrate(&args.database).await?;
    match seed::run(args).await {
        Ok(seeded) => {
            println!(
                "seeded: sign in as {} with password {}",
                seeded.first_email,
                seed::SEED_PASSWORD
            );
            Ok(())
        }
        Err(reason) => Err(app::StartError::Seed(reason)),
    }
}

/// Migrates, imports, and prints the report (or one error line: nothing was written).
async fn import_prisma(args: &import::ImportArgs) -> ExitCode {
    if let Err(err) = migrate(&args.database).await {
        eprintln!("error: {err}");
        return ExitCode::FAILURE;
    }
    match import::run(args).await {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Checks a manifest as the server would at start; no database needed.
async fn check_documents(args: &CheckDocumentsArgs) -> ExitCode {
    match graphql::trusted::load_manifest(&args.path).await {
        Ok(manifest) => {
            println!(
                "{}: {} trusted documents, {} operation names, all valid",
                args.path.display(),
                manifest.len(),
                manifest.operation_name_count()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: trusted documents: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate(config: &DatabaseConfig) -> Result<(), app::StartError> {
    db::connect::ensure_database(config).await?;
    let applied = db::migrate::run_pending(config).await?;
    if applied.is_empty() {
        tracing::info!("database schema is up to date");
    }
    for version in applied {
        tracing::info!(%version, "applied migration");
    }
    Ok(())
}
