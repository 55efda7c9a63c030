//! Fresh databases per test. A template is migrated once per migration set
//! (its name carries a hash of `migrations/`) and every test gets a copy,
//! dropped when the test ends.

use std::time::Duration;

use growth_diary::config::{DatabaseConfig, DatabaseTarget, DatabaseUrl, PoolerMode};
use growth_diary::db::connect::{self, quote_identifier};
use growth_diary::db::migrate;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

const TIMEOUT: Duration = Duration::from_secs(10);
/// Templates of other migration sets left for other checkouts.
const KEPT_TEMPLATES: i64 = 3;

/// Serialises template creation across concurrently running test binaries.
const TEMPLATE_LOCK_KEY: i64 = 0x6764_7465_7374; // "gdtest"

/// The connection string of the maintenance database tests connect to;
/// `TEST_DATABASE_URL` overrides it.
fn admin_connection_string() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// The transaction pooler the suite runs through when `TEST_POOLER_URL` is
/// set (CI runs the suite once so, through PgBouncer).
pub fn pooler_url() -> Option<DatabaseUrl> {
    let raw = std::env::var("TEST_POOLER_URL").ok()?;
    Some(DatabaseUrl::parse(&raw).expect("TEST_POOLER_URL is a valid PostgreSQL URL"))
}

/// The maintenance database tests connect to.
pub fn admin_url() -> DatabaseUrl {
    DatabaseUrl::parse(&admin_connection_string())
        .expect("TEST_DATABASE_URL is a valid PostgreSQL URL")
}

/// A database that exists for one test and is dropped with this value.
pub struct TestDb {
    pub url: DatabaseUrl,
    name: String,
}

impl TestDb {
    /// A fresh, migrated database.
    pub async fn new() -> Self {
        let template = template().await;
        Self::create(Some(template)).await
    }

    /// A fresh database with no migrations applied.
    pub async fn empty() -> Self {
        Self::create(None).await
    }

    async fn create(template: Option<&str>) -> Self {
        let name = format!("gd_test_{}", uuid::Uuid::now_v7().simple());
        let admin = admin().await;
        let mut statement = format!("CREATE DATABASE {}", quote_identifier(&name));
        if let Some(template) = template {
            statement.push_str(&format!(" TEMPLATE {}", quote_identifier(template)));
        }
        if let Err(err) = admin.batch_execute(&statement).await {
            // Another checkout with other migrations (a parallel worktree on
            // the same PostgreSQL) may have dropped our template as stale:
            // build it again once.
            let missing =
                err.code() == Some(&tokio_postgres::error::SqlState::INVALID_CATALOG_NAME);
            assert!(
                missing && template.is_some(),
                "create a test database: {err}"
            );
            let rebuilt = create_template().await;
            admin
                .batch_execute(&format!(
                    "CREATE DATABASE {} TEMPLATE {}",
                    quote_identifier(&name),
                    quote_identifier(&rebuilt)
                ))
                .await
                .expect("create a test database");
        }
        Self {
            url: admin_url().with_database(&name),
            name,
        }
    }

    /// This database's connection string (`TEST_DATABASE_URL` with its name),
    /// for the binary started as a process.
    pub fn connection_string(&self) -> String {
        let raw = admin_connection_string();
        match url::Url::parse(&raw) {
            Ok(mut url) => {
                url.set_path(&self.name);
                url.to_string()
            }
            // The key=value form: a later keyword wins.
            Err(_) => format!("{raw} dbname={}", self.name),
        }
    }

    /// Database settings pointing at this database: through the transaction
    /// pooler at `TEST_POOLER_URL` when it is set (with the direct URL for
    /// migrations and `LISTEN`), else directly.
    pub fn config(&self) -> DatabaseConfig {
        let mut config = DatabaseConfig::for_url(self.url.clone());
        if let Some(pooled) = self.pooled_url() {
            config.database_url = pooled.clone();
            config.database_target = Some(DatabaseTarget::Url(pooled));
            config.database_direct_url = Some(self.url.clone());
            config.database_pooler = PoolerMode::Transaction;
        }
        config
    }

    /// This database through the transaction pooler at `TEST_POOLER_URL`, if set.
    pub fn pooled_url(&self) -> Option<DatabaseUrl> {
        let pooler = pooler_url()?;
        Some(pooler.with_database(&self.name))
    }

    /// The settings a spawned server gets: `DATABASE_URL`, and behind a
    /// pooler `DATABASE_DIRECT_URL` and `DATABASE_POOLER`.
    pub fn server_env(&self) -> Vec<(&'static str, String)> {
        let direct = self.connection_string();
        match std::env::var("TEST_POOLER_URL") {
            Ok(pooler) => {
                let pooled = match url::Url::parse(&pooler) {
                    Ok(mut url) => {
                        url.set_path(&self.name);
                        url.to_string()
                    }
                    Err(_) => format!("{pooler} dbname={}", self.name),
                };
                vec![
                    ("DATABASE_URL", pooled),
                    ("DATABASE_DIRECT_URL", direct),
                    ("DATABASE_POOLER", "transaction".to_string()),
                ]
            }
            Err(_) => vec![("DATABASE_URL", direct)],
        }
    }

    /// A plain client, for assertions in SQL.
    pub async fn client(&self) -> tokio_postgres::Client {
        connect::client(&self.url, TIMEOUT)
            .await
            .expect("connect to the test database")
    }

    /// How many rows `SELECT count(*) FROM <from>` counts (`from`: a table,
    /// optionally followed by a WHERE clause).
    pub async fn rows(&self, from: &str) -> i64 {
        self.client()
            .await
            .query_one(&format!("SELECT count(*) FROM {from}"), &[])
            .await
            .expect("count rows")
            .get(0)
    }

    /// A diesel connection, for factories.
    pub async fn conn(&self) -> diesel_async::AsyncPgConnection {
        connect::establish(&self.url, TIMEOUT)
            .await
            .expect("connect to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs outside async context, so the DROP runs on a thread of its own.
        let statement = format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_identifier(&self.name)
        );
        let result = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let admin = connect::client(&admin_url(), TIMEOUT)
                    .await
                    .map_err(std::io::Error::other)?;
                admin
                    .batch_execute(&statement)
                    .await
                    .map_err(std::io::Error::other)
            })
        })
        .join();
        if !matches!(result, Ok(Ok(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

async fn admin() -> tokio_postgres::Client {
    connect::client(&admin_url(), TIMEOUT).await.expect(
        "PostgreSQL must run on 127.0.0.1:5432 (start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)",
    )
}

/// The name of the migrated template, creating it on first use.
async fn template() -> &'static str {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    TEMPLATE.get_or_init(create_template).await
}

async fn create_template() -> String {
    let name = format!("gd_template_{}", migrations_hash());
    let admin = admin().await;
    admin
        .execute("SELECT pg_advisory_lock($1)", &[&TEMPLATE_LOCK_KEY])
        .await
        .expect("take the template lock");
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .expect("look for the template")
        .is_some();
    if !exists {
        // Templates of older migration sets are no longer needed, but another
        // checkout on the same PostgreSQL (a parallel worktree) may still be
        // cloning from one: keep the newest few, drop the rest.
        let stale = admin
            .query(
                "SELECT datname FROM pg_database WHERE datname LIKE 'gd\\_template\\_%' \
                 ORDER BY oid DESC OFFSET $1",
                &[&KEPT_TEMPLATES],
            )
            .await
            .expect("list old templates");
        for row in stale {
            let old: String = row.get(0);
            let statement = format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_identifier(&old)
            );
            admin
                .batch_execute(&statement)
                .await
                .expect("drop an old template");
        }
        // Build under a temporary name, so a half-built template is never used.
        let building = format!("{name}_building");
        admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_identifier(&building)
            ))
            .await
            .expect("drop a half-built template");
        admin
            .batch_execute(&format!("CREATE DATABASE {}", quote_identifier(&building)))
            .await
            .expect("create the template");
        let config = DatabaseConfig::for_url(admin_url().with_database(&building));
        migrate::run_pending(&config)
            .await
            .expect("migrate the template");
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {} RENAME TO {}",
                quote_identifier(&building),
                quote_identifier(&name)
            ))
            .await
            .expect("publish the template");
    }
    admin
        .execute("SELECT pg_advisory_unlock($1)", &[&TEMPLATE_LOCK_KEY])
        .await
        .expect("release the template lock");
    name
}

/// A short hash of every file under `migrations/`.
fn migrations_hash() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read migrations/") {
            let path = entry.expect("read a migrations entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update(
            file.strip_prefix(&root)
                .unwrap_or(&file)
                .to_string_lossy()
                .as_bytes(),
        );
        hasher.update(std::fs::read(&file).expect("read a migration file"));
    }
    hasher
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}
