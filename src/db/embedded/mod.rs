//! A private PostgreSQL cluster for machines without a database server:
//! created with the system's own `initdb` in `DATA_DIR`, started with
//! `pg_ctl`, reachable only through a Unix socket inside its data directory,
//! and stopped when the server stops.
//!
//! Used when `DATABASE_URL=embedded`, or when `DATABASE_URL` is unset and
//! nothing answers at the default address. Nothing here runs after start-up.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::config::{DatabaseConfig, DatabaseTarget, DatabaseUrl};

pub(crate) mod system;

use system::{Account, account, find_programs};

/// The port in the socket's name (`.s.PGSQL.5432`); no TCP port is opened.
const PORT: u16 = 5432;
/// The cluster's superuser, whatever account runs it.
const SUPERUSER: &str = "postgres";
/// The database the server uses inside the cluster.
const DATABASE: &str = "growth_diary";
/// Settings written at every start, included from `postgresql.conf`.
const SETTINGS_FILE: &str = "growth-diary.conf";
/// PostgreSQL's log, inside the data directory.
const LOG_FILE: &str = "postgresql.log";
/// Longest path of a Unix socket (`sun_path` holds 108 bytes with the NUL).
const MAX_SOCKET_PATH: usize = 107;
/// How long `pg_ctl` may wait for the cluster to start or stop.
const PG_CTL_WAIT_SECS: &str = "60";
/// How long the default address has to answer before an embedded cluster is used.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// What to do when PostgreSQL's programs are missing.
const INSTALL_HINT: &str = "install them (`apt install postgresql`), point POSTGRES_BIN_DIR at them, or set DATABASE_URL to a PostgreSQL server";

/// Why the embedded cluster could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// initdb and pg_ctl were not found.
    #[error(
        "no embedded database: PostgreSQL's programs (initdb, pg_ctl) are not {searched}: {INSTALL_HINT}"
    )]
    NoPrograms { searched: String },
    /// Running as root, with no unprivileged account to run PostgreSQL as.
    #[error(
        "no embedded database: PostgreSQL refuses to run as root and this machine has no `postgres` account: create one (`useradd --system postgres`), run the server as another user, or set DATABASE_URL"
    )]
    NoAccount,
    /// The data directory cannot be created or prepared.
    #[error("no embedded database: cannot prepare DATA_DIR {}: {source}", path.display())]
    DataDir { path: PathBuf, source: io::Error },
    /// The socket's path would be longer than Unix allows.
    #[error("no embedded database: DATA_DIR {} is too long for a Unix socket inside it: use a shorter path", .0.display())]
    PathTooLong(PathBuf),
    /// initdb or pg_ctl failed.
    #[error("no embedded database: {program} failed: {detail}")]
    Program {
        program: &'static str,
        detail: String,
    },
}

/// A running embedded cluster; stop it with [`EmbeddedCluster::stop`] (dropping it stops it too).
#[derive(Debug)]
pub struct EmbeddedCluster {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    account: Option<Account>,
    running: bool,
}

/// Decides where the database is and sets `config.database_url` to it:
/// DATABASE_URL's server, the default server when it answers, or a private
/// cluster started here (returned, so the caller stops it at shutdown).
pub async fn prepare(
    config: &mut DatabaseConfig,
) -> Result<Option<EmbeddedCluster>, EmbeddedError> {
    match &config.database_target {
        Some(DatabaseTarget::Url(url)) => {
            config.database_url = url.clone();
            return Ok(None);
        }
        Some(DatabaseTarget::Embedded) => {}
        None => {
            if default_server_answers().await {
                config.database_url = DatabaseUrl::default_url();
                return Ok(None);
            }
            tracing::info!(
                "DATABASE_URL is unset and nothing answers at 127.0.0.1:5432: starting an embedded PostgreSQL"
            );
        }
    }
    if config.database_direct_url.take().is_some() {
        tracing::warn!("DATABASE_DIRECT_URL is ignored: the database is embedded");
    }
    let data_dir = config.data_dir.clone();
    let bin_dir = config.postgres_bin_dir.clone();
    let cluster = tokio::task::spawn_blocking(move || start(&data_dir, bin_dir.as_deref()))
        .await
        .map_err(|err| EmbeddedError::Program {
            program: "pg_ctl",
            detail: format!("the start task failed: {err}"),
        })??;
    config.database_url = DatabaseUrl::unix_socket(&cluster.data_dir, PORT, SUPERUSER, DATABASE);
    Ok(Some(cluster))
}

impl EmbeddedCluster {
    /// Stops the cluster (fast shutdown: sessions are ended, data is flushed).
    pub async fn stop(mut self) {
        let stopped = tokio::task::spawn_blocking(move || self.stop_now()).await;
        if let Err(err) = stopped {
            tracing::error!(error = %err, "the task stopping the embedded PostgreSQL failed");
        }
    }

    fn stop_now(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        let output = self.pg_ctl(&["stop", "-m", "fast", "-w", "-t", PG_CTL_WAIT_SECS, "-s"]);
        match output {
            Ok(output) if output.status.success() => {
                tracing::info!(data_dir = %self.data_dir.display(), "stopped the embedded PostgreSQL");
            }
            Ok(output) => {
                tracing::error!(detail = %last_line(&output), "cannot stop the embedded PostgreSQL");
            }
            Err(err) => tracing::error!(error = %err, "cannot run pg_ctl stop"),
        }
    }

    fn pg_ctl(&self, args: &[&str]) -> io::Result<Output> {
        let mut command = command(&self.bin_dir.join("pg_ctl"), self.account);
        command.args(args).arg("-D").arg(&self.data_dir);
        command.output()
    }
}

impl Drop for EmbeddedCluster {
    fn drop(&mut self) {
        // Start-up failed after the cluster started: do not leave it behind.
        self.stop_now();
    }
}

/// Whether anything accepts connections at the default address.
async fn default_server_answers() -> bool {
    let url = DatabaseUrl::default_url();
    let config = url.config();
    let (Some(tokio_postgres::config::Host::Tcp(host)), Some(port)) =
        (config.get_hosts().first(), config.get_ports().first())
    else {
        return false;
    };
    let connect = tokio::net::TcpStream::connect((host.as_str(), *port));
    matches!(
        tokio::time::timeout(PROBE_TIMEOUT, connect).await,
        Ok(Ok(_))
    )
}

/// Creates the cluster when `data_dir` has none, and starts it unless it runs.
fn start(data_dir: &Path, bin_dir: Option<&Path>) -> Result<EmbeddedCluster, EmbeddedError> {
    let bin_dir = find_programs(bin_dir)?;
    let account = account()?;
    let data_dir = prepare_data_dir(data_dir, account)?;
    let mut cluster = EmbeddedCluster {
        bin_dir,
        data_dir,
        account,
        running: false,
    };
    if !cluster.data_dir.join("PG_VERSION").exists() {
        init(&cluster)?;
    }
    write_settings(&cluster)?;
    // pg_ctl trusts postmaster.pid, whose PID may belong to another process
    // after a crash: running means the socket answers too.
    let running = cluster
        .pg_ctl(&["status"])
        .is_ok_and(|output| output.status.success())
        && std::os::unix::net::UnixStream::connect(
            cluster.data_dir.join(format!(".s.PGSQL.{PORT}")),
        )
        .is_ok();
    if running {
        // Left running by a server that did not stop cleanly: use it, and stop it at shutdown.
        tracing::warn!(data_dir = %cluster.data_dir.display(), "the embedded PostgreSQL was already running; using it");
        cluster.running = true;
        return Ok(cluster);
    }
    let log = cluster.data_dir.join(LOG_FILE);
    let mut args = vec!["start", "-w", "-t", PG_CTL_WAIT_SECS, "-s", "-l"];
    let log_arg = log.to_string_lossy().into_owned();
    args.push(&log_arg);
    let output = cluster
        .pg_ctl(&args)
        .map_err(|err| EmbeddedError::Program {
            program: "pg_ctl start",
            detail: err.to_string(),
        })?;
    if !output.status.success() {
        let detail = last_log_line(&log).unwrap_or_else(|| last_line(&output));
        return Err(EmbeddedError::Program {
            program: "pg_ctl start",
            detail: format!("{detail} (see {})", log.display()),
        });
    }
    cluster.running = true;
    tracing::info!(data_dir = %cluster.data_dir.display(), "started the embedded PostgreSQL");
    Ok(cluster)
}

/// Creates the data directory (absolute, owned by the account, private)
/// and checks that its socket's path fits.
fn prepare_data_dir(dir: &Path, account: Option<Account>) -> Result<PathBuf, EmbeddedError> {
    let data_dir_error = |source| EmbeddedError::DataDir {
        path: dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(data_dir_error)?;
    let dir = fs::canonicalize(dir).map_err(data_dir_error)?;
    let socket = dir.join(format!(".s.PGSQL.{PORT}.lock"));
    if socket.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(EmbeddedError::PathTooLong(dir));
    }
    let data_dir_error = |source| EmbeddedError::DataDir {
        path: dir.clone(),
        source,
    };
    if let Some(account) = account {
        let meta = fs::metadata(&dir).map_err(data_dir_error)?;
        if meta.uid() != account.uid {
            std::os::unix::fs::chown(&dir, Some(account.uid), Some(account.gid))
                .map_err(data_dir_error)?;
        }
    }
    Ok(dir)
}

/// `initdb`: trust only on the local socket (which only the cluster's own
/// account and root can reach), no TCP logins, UTF-8.
fn init(cluster: &EmbeddedCluster) -> Result<(), EmbeddedError> {
    let mut command = command(&cluster.bin_dir.join("initdb"), cluster.account);
    command.arg("-D").arg(&cluster.data_dir).args([
        "--username",
        SUPERUSER,
        "--auth-local=trust",
        "--auth-host=reject",
        "--encoding=UTF8",
        "--locale=C",
        "--no-instructions",
    ]);
    let output = command.output().map_err(|err| EmbeddedError::Program {
        program: "initdb",
        detail: err.to_string(),
    })?;
    if !output.status.success() {
        let mut detail = last_line(&output);
        if cluster.account.is_some() {
            detail.push_str(
                " (initdb runs as the `postgres` account, which must be able to reach DATA_DIR)",
            );
        }
        return Err(EmbeddedError::Program {
            program: "initdb",
            detail,
        });
    }
    let conf = cluster.data_dir.join("postgresql.conf");
    let include =
        format!("\n# growth-diary: where the socket is, and no TCP\ninclude = '{SETTINGS_FILE}'\n");
    let mut text = fs::read_to_string(&conf).map_err(|source| EmbeddedError::DataDir {
        path: conf.clone(),
        source,
    })?;
    text.push_str(&include);
    fs::write(&conf, text).map_err(|source| EmbeddedError::DataDir { path: conf, source })?;
    tracing::info!(data_dir = %cluster.data_dir.display(), "created an embedded PostgreSQL cluster");
    Ok(())
}

/// Written at every start, so a moved data directory still finds its socket.
fn write_settings(cluster: &EmbeddedCluster) -> Result<(), EmbeddedError> {
    let path = cluster.data_dir.join(SETTINGS_FILE);
    let socket_dir = cluster.data_dir.to_string_lossy().replace('\'', "''");
    let text = format!(
        "# Written by growth-diary at each start: reachable only through this socket.\n\
         listen_addresses = ''\n\
         unix_socket_directories = '{socket_dir}'\n\
         unix_socket_permissions = 0700\n"
    );
    let error = |source| EmbeddedError::DataDir {
        path: path.clone(),
        source,
    };
    fs::write(&path, text).map_err(error)?;
    if let Some(account) = cluster.account {
        std::os::unix::fs::chown(&path, Some(account.uid), Some(account.gid)).map_err(error)?;
    }
    Ok(())
}

/// A command run as `account` (when given) from `/`, which every account may enter.
fn command(program: &Path, account: Option<Account>) -> Command {
    let mut command = Command::new(program);
    command.current_dir("/").env("LC_ALL", "C");
    if let Some(account) = account {
        command.uid(account.uid).gid(account.gid);
    }
    command
}

/// The last line a program wrote (stderr first): its reason for failing.
fn last_line(output: &Output) -> String {
    [&output.stderr, &output.stdout]
        .iter()
        .find_map(|bytes| {
            String::from_utf8_lossy(bytes)
                .lines()
                .rev()
                .find(|line| !line.trim().is_empty())
                .map(|line| line.trim().to_string())
        })
        .unwrap_or_else(|| format!("exited with {}", output.status))
}

/// The last FATAL or ERROR line of PostgreSQL's log, if any.
fn last_log_line(log: &Path) -> Option<String> {
    let text = fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .find(|line| line.contains("FATAL") || line.contains("ERROR"))
        .map(|line| line.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_address_is_the_default_urls() {
        let url = DatabaseUrl::default_url();
        assert_eq!(url.to_string(), "127.0.0.1:5432/growth_diary");
    }
}
