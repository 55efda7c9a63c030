//! A private primary and streaming replica, started by the test itself:
//! `initdb` in a temporary directory (its `pg_hba.conf` allows replication
//! from 127.0.0.1), `pg_basebackup -R` for the replica, each on a port of its
//! own; as root, PostgreSQL's programs run as the `postgres` account.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use growth_diary::config::DatabaseUrl;

/// A primary and one replica, stopped and deleted when dropped.
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    pub primary_port: u16,
    pub replica_port: u16,
    /// `recovery_min_apply_delay` of the replica.
    delay: std::sync::Mutex<Duration>,
}

impl Cluster {
    /// Starts a primary and a replica that applies the primary's WAL `delay` late.
    pub fn start(delay: Duration) -> Self {
        let dir =
            std::env::temp_dir().join(format!("gd-cluster-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("create the cluster's directory");
        let cluster = Self {
            bin: bin_dir(),
            primary_port: free_port(),
            replica_port: free_port(),
            delay: std::sync::Mutex::new(delay),
            dir,
        };
        cluster.chown(&cluster.dir);
        cluster.run(
            "initdb",
            &[
                "-D",
                cluster.data("primary").as_str(),
                "--auth=trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        cluster.pg_ctl("primary", cluster.primary_port, "start", &[]);
        cluster.run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &cluster.primary_port.to_string(),
                "-U",
                "postgres",
                "-D",
                cluster.data("replica").as_str(),
                "-R",
                "-X",
                "stream",
                "--checkpoint=fast",
                "--no-sync",
            ],
        );
        cluster.start_replica();
        cluster
    }

    /// The primary's database `name` (created by the server on start).
    pub fn primary_url(&self, name: &str) -> DatabaseUrl {
        url(self.primary_port, name)
    }

    /// The replica's database `name`.
    pub fn replica_url(&self, name: &str) -> DatabaseUrl {
        url(self.replica_port, name)
    }

    /// Starts (again) the replica.
    pub fn start_replica(&self) {
        let delay = *self
            .delay
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let delay = format!("-c recovery_min_apply_delay={}ms", delay.as_millis());
        self.pg_ctl("replica", self.replica_port, "start", &[&delay]);
    }

    /// Restarts the replica applying the primary's WAL `delay` late from now on.
    pub fn restart_replica_with_delay(&self, delay: Duration) {
        *self
            .delay
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = delay;
        self.stop_replica();
        self.start_replica();
    }

    /// A client of the replica's database `name` (to look at what it has).
    pub async fn replica_client(&self, name: &str) -> tokio_postgres::Client {
        growth_diary::db::connect::client(&self.replica_url(name), Duration::from_secs(10))
            .await
            .expect("connect to the replica")
    }

    /// Stops the replica at once (`-m immediate`: its connections just end).
    pub fn stop_replica(&self) {
        self.run(
            "pg_ctl",
            &[
                "-D",
                self.data("replica").as_str(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }

    /// What PostgreSQL's statistics say the replica served: committed
    /// transactions in database `name`.
    pub async fn replica_transactions(&self, name: &str) -> i64 {
        self.replica_client("postgres")
            .await
            .query_one(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1",
                &[&name],
            )
            .await
            .map(|row| row.get(0))
            .unwrap_or(0)
    }

    fn data(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    fn pg_ctl(&self, data: &str, port: u16, action: &str, extra: &[&str]) {
        let mut options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=16MB",
            self.dir.display()
        );
        for option in extra {
            options.push(' ');
            options.push_str(option);
        }
        let log = self.dir.join(format!("{data}.log")).display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                self.data(data).as_str(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                action,
            ],
        );
    }

    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut command = if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        };
        let output = command
            .args(args)
            .output()
            .unwrap_or_else(|err| panic!("run {program}: {err}"));
        assert!(
            output.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn chown(&self, path: &Path) {
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(path)
                .status()
                .expect("run chown");
            assert!(status.success(), "chown the cluster's directory");
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for data in ["replica", "primary"] {
            let path = self.bin.join("pg_ctl");
            let dir = self.data(data);
            let args = ["-D", dir.as_str(), "-m", "immediate", "-w", "stop"];
            let _ = if is_root() {
                Command::new("runuser")
                    .args(["-u", "postgres", "--"])
                    .arg(&path)
                    .args(args)
                    .output()
            } else {
                Command::new(&path).args(args).output()
            };
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn url(port: u16, name: &str) -> DatabaseUrl {
    DatabaseUrl::parse(&format!(
        "postgres://postgres@127.0.0.1:{port}/{name}?sslmode=disable"
    ))
    .expect("a valid URL")
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A port nobody listens on now (PostgreSQL binds it itself, a moment later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// Debian's newest PostgreSQL (the programs beside `initdb`).
fn bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's programs in /usr/lib/postgresql")
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| dir.join("pg_basebackup").exists())
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, dir)| dir)
        .expect("pg_basebackup in /usr/lib/postgresql/*/bin")
}
