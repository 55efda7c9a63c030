//! Typed configuration, read from environment variables or the matching CLI flags.
//!
//! Every default works on a machine where PostgreSQL listens on 127.0.0.1:5432
//! with trust authentication, so `cargo run --release` needs no setup.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use url::Url;

use crate::db::conninfo;
use crate::db::tls::Tls;

/// The database a fresh checkout talks to.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/growth_diary";

/// A validated PostgreSQL connection string, with its TLS settings loaded.
/// Its `Debug` and `Display` never show the password.
#[derive(Clone)]
pub struct DatabaseUrl {
    config: tokio_postgres::Config,
    tls: Tls,
    /// The TLS parameters as written, for PostgreSQL's own programs (`libpq_env`).
    tls_params: conninfo::TlsParams,
}

impl DatabaseUrl {
    /// Parses a `postgres://` URL (or a libpq key=value string) that names a
    /// database, and loads the certificate files its TLS parameters name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let (rest, params) = conninfo::split_tls(raw)
            .map_err(|err| format!("not a valid PostgreSQL connection string: {err}"))?;
        let mut config = tokio_postgres::Config::from_str(&rest)
            .map_err(|err| format!("not a valid PostgreSQL connection string: {err}"))?;
        if config.get_hosts().is_empty() {
            return Err("the connection string names no host".into());
        }
        if config.get_dbname().is_none_or(str::is_empty) {
            return Err("the connection string names no database".into());
        }
        let only_sockets = config
            .get_hosts()
            .iter()
            .all(|host| matches!(host, tokio_postgres::config::Host::Unix(_)));
        // As libpq: PostgreSQL offers no TLS on a Unix socket, so sslmode does not apply.
        let tls = if only_sockets {
            Tls::disabled()
        } else {
            Tls::load(&params).map_err(|err| err.to_string())?
        };
        config.ssl_mode(tls.driver_mode());
        Ok(Self {
            config,
            tls,
            tls_params: params,
        })
    }

    /// A database reached through the Unix socket in `socket_dir`, without a password.
    pub fn unix_socket(socket_dir: &std::path::Path, port: u16, user: &str, dbname: &str) -> Self {
        let mut config = tokio_postgres::Config::new();
        config
            .host_path(socket_dir)
            .port(port)
            .user(user)
            .dbname(dbname)
            .ssl_mode(tokio_postgres::config::SslMode::Disable);
        Self {
            config,
            tls: Tls::disabled(),
            tls_params: conninfo::TlsParams::default(),
        }
    }

    /// The driver's view of the connection string.
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// Its TLS settings.
    pub fn tls(&self) -> &Tls {
        &self.tls
    }

    /// The name of the database this URL points at.
    pub fn database_name(&self) -> &str {
        self.config.get_dbname().unwrap_or_default()
    }

    /// The same server and credentials, another database.
    pub fn with_database(&self, name: &str) -> Self {
        let mut config = self.config.clone();
        config.dbname(name);
        Self {
            config,
            tls: self.tls.clone(),
            tls_params: self.tls_params.clone(),
        }
    }

    /// The same connection as libpq's environment variables, for PostgreSQL's
    /// own programs (`pg_dump`, `pg_restore`): the password stays out of
    /// their command line.
    pub fn libpq_env(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        use tokio_postgres::config::Host;
        let hosts: Vec<String> = self
            .config
            .get_hosts()
            .iter()
            .map(|host| match host {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            })
            .collect();
        let ports: Vec<String> = self.config.get_ports().iter().map(u16::to_string).collect();
        let mut env: Vec<(&'static str, std::ffi::OsString)> = vec![
            ("PGHOST", hosts.join(",").into()),
            ("PGDATABASE", self.database_name().into()),
            ("PGAPPNAME", "growth-diary".into()),
        ];
        if !ports.is_empty() {
            env.push(("PGPORT", ports.join(",").into()));
        }
        if let Some(user) = self.config.get_user() {
            env.push(("PGUSER", user.into()));
        }
        if let Some(password) = self.config.get_password() {
            use std::os::unix::ffi::OsStringExt;
            env.push((
                "PGPASSWORD",
                std::ffi::OsString::from_vec(password.to_vec()),
            ));
        }
        let tls = &self.tls_params;
        let files = [
            ("PGSSLMODE", tls.mode.as_ref().map(std::ffi::OsString::from)),
            (
                "PGSSLROOTCERT",
                tls.root_cert
                    .as_ref()
                    .map(|path| path.clone().into_os_string()),
            ),
            (
                "PGSSLCERT",
                tls.cert.as_ref().map(|path| path.clone().into_os_string()),
            ),
            (
                "PGSSLKEY",
                tls.key.as_ref().map(|path| path.clone().into_os_string()),
            ),
        ];
        env.extend(
            files
                .into_iter()
                .filter_map(|(key, value)| Some((key, value?))),
        );
        env
    }

    /// [`DEFAULT_DATABASE_URL`], parsed.
    pub fn default_url() -> Self {
        Self::parse(DEFAULT_DATABASE_URL).expect("the default URL is valid (a unit test parses it)")
    }
}

/// What `DATABASE_URL` says: a server, or `embedded`.
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "parsed once at start-up; boxing buys nothing"
)]
pub enum DatabaseTarget {
    /// A PostgreSQL server (or pooler).
    Url(DatabaseUrl),
    /// A private cluster the server starts itself (`db::embedded`).
    Embedded,
}

/// A clap value parser whose errors leave the value out: a connection
/// string may carry a password.
#[derive(Clone)]
pub struct QuietParser<T>(pub fn(&str) -> Result<T, String>);

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for QuietParser<T> {
    type Value = T;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let name = arg.map_or_else(|| "a setting".to_string(), ToString::to_string);
        let fail = |reason: &str| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value for '{name}': {reason}\n"),
            )
        };
        let raw = value.to_str().ok_or_else(|| fail("not UTF-8"))?;
        (self.0)(raw).map_err(|reason| fail(&reason))
    }
}

fn parse_database_target(raw: &str) -> Result<DatabaseTarget, String> {
    if raw.trim() == "embedded" {
        Ok(DatabaseTarget::Embedded)
    } else {
        DatabaseUrl::parse(raw).map(DatabaseTarget::Url)
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = match self.config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
            Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
            None => String::new(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        write!(f, "{host}:{port}/{}", self.database_name())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// How to reach PostgreSQL.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseConfig {
    /// Connection string the server's pool uses (may point at a transaction pooler), or `embedded`; unset: 127.0.0.1:5432 when it answers, else embedded.
    #[arg(long = "database-url", env = "DATABASE_URL", value_name = "DATABASE_URL", value_parser = QuietParser(parse_database_target))]
    pub database_target: Option<DatabaseTarget>,

    /// The database in use, set from `database_target` by `db::embedded::prepare` before anything connects.
    #[arg(skip = DatabaseUrl::default_url())]
    pub database_url: DatabaseUrl,

    /// Direct (unpooled) connection string for migrations and advisory locks; defaults to DATABASE_URL.
    #[arg(long, env = "DATABASE_DIRECT_URL", value_parser = QuietParser(DatabaseUrl::parse))]
    pub database_direct_url: Option<DatabaseUrl>,

    /// What DATABASE_URL points at: PostgreSQL itself (`none`) or a pooler in transaction mode (`transaction`, e.g. PgBouncer's `pool_mode = transaction`; needs DATABASE_DIRECT_URL).
    #[arg(long, env = "DATABASE_POOLER", value_enum, default_value_t = PoolerMode::None)]
    pub database_pooler: PoolerMode,

    /// Streaming replicas for the reads of GraphQL queries and subscription deliveries, comma-separated (one host per URL; TLS options as DATABASE_URL); unset: every read on the primary.
    #[arg(long, env = "DATABASE_REPLICA_URLS", value_delimiter = ',', value_parser = QuietParser(DatabaseUrl::parse))]
    pub database_replica_urls: Vec<DatabaseUrl>,

    /// A replica further behind the primary than this (milliseconds) takes no reads until it catches up.
    #[arg(long, env = "REPLICA_MAX_LAG_MS", default_value_t = DatabaseConfig::DEFAULT_REPLICA_MAX_LAG_MS, value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
    pub replica_max_lag_ms: u64,

    /// Connections in the pool of each instance.
    #[arg(long, env = "DATABASE_POOL_SIZE", default_value_t = DatabaseConfig::DEFAULT_POOL_SIZE, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_pool_size: u32,

    /// `statement_timeout` of every pooled connection, in milliseconds.
    #[arg(long, env = "DATABASE_STATEMENT_TIMEOUT_MS", default_value_t = DatabaseConfig::DEFAULT_STATEMENT_TIMEOUT_MS, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub database_statement_timeout_ms: u64,

    /// How long to wait for a new connection or a free pooled one, in seconds.
    #[arg(long, env = "DATABASE_CONNECT_TIMEOUT_SECS", default_value_t = DatabaseConfig::DEFAULT_CONNECT_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub database_connect_timeout_secs: u64,

    /// Development and benchmarks only: the `growth_diary::sql` trace shows bind values (secrets included).
    #[arg(long, env = "LOG_SQL_BINDS")]
    pub log_sql_binds: bool,

    /// Where an embedded PostgreSQL keeps its cluster (and its socket).
    #[arg(long, env = "DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Directory of PostgreSQL's programs for an embedded cluster; unset: PATH, `pg_config --bindir`, /usr/lib/postgresql.
    #[arg(long, env = "POSTGRES_BIN_DIR")]
    pub postgres_bin_dir: Option<PathBuf>,
}

impl DatabaseConfig {
    /// Default of `REPLICA_MAX_LAG_MS`.
    pub const DEFAULT_REPLICA_MAX_LAG_MS: u64 = 5_000;
    /// Default of `DATABASE_POOL_SIZE`.
    pub const DEFAULT_POOL_SIZE: u32 = 10;
    /// Default of `DATABASE_STATEMENT_TIMEOUT_MS`.
    pub const DEFAULT_STATEMENT_TIMEOUT_MS: u64 = 10_000;
    /// Default of `DATABASE_CONNECT_TIMEOUT_SECS`.
    pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 5;

    /// A configuration for `url` with every other setting at its default.
    pub fn for_url(url: DatabaseUrl) -> Self {
        Self {
            database_target: Some(DatabaseTarget::Url(url.clone())),
            database_url: url,
            database_direct_url: None,
            database_pooler: PoolerMode::None,
            database_replica_urls: Vec::new(),
            replica_max_lag_ms: Self::DEFAULT_REPLICA_MAX_LAG_MS,
            database_pool_size: Self::DEFAULT_POOL_SIZE,
            database_statement_timeout_ms: Self::DEFAULT_STATEMENT_TIMEOUT_MS,
            database_connect_timeout_secs: Self::DEFAULT_CONNECT_TIMEOUT_SECS,
            log_sql_binds: false,
            data_dir: PathBuf::from("data"),
            postgres_bin_dir: None,
        }
    }

    /// The URL migrations run over: the direct one when given.
    pub fn migration_url(&self) -> &DatabaseUrl {
        self.database_direct_url
            .as_ref()
            .unwrap_or(&self.database_url)
    }

    /// Timeout for establishing a connection or waiting for a pooled one.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.database_connect_timeout_secs)
    }
}

/// What sits between the pool and PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PoolerMode {
    /// Nothing: DATABASE_URL is PostgreSQL itself (or a pooler in session mode).
    None,
    /// A pooler that lends a server connection per transaction (PgBouncer's
    /// `pool_mode = transaction`): each checkout runs as one transaction,
    /// statements are not cached, and `LISTEN` and advisory locks use
    /// DATABASE_DIRECT_URL.
    Transaction,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Everything `serve` needs.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    #[command(flatten)]
    pub database: DatabaseConfig,

    /// Address and port to listen on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8000")]
    pub listen_addr: SocketAddr,

    /// The server's own external URL (used for links and cookie security).
    #[arg(long, env = "PUBLIC_URL", default_value = "http://localhost:8000", value_parser = parse_http_url)]
    pub public_url: Url,

    /// The SPA's URL, where email links and OAuth sign-ins land; defaults to PUBLIC_URL.
    #[arg(long, env = "APP_URL", value_parser = parse_http_url)]
    pub app_url: Option<Url>,

    /// Do not apply pending migrations at start (run `growth-diary migrate` instead).
    #[arg(long, env = "SKIP_MIGRATIONS")]
    pub skip_migrations: bool,

    /// Browser origins allowed to call the API with credentials (comma-separated); defaults to APP_URL's origin.
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',', value_parser = parse_origin)]
    pub cors_origins: Vec<String>,

    /// Trust the last `X-Forwarded-For` hop as the client's IP (only behind your own proxy).
    #[arg(long, env = "TRUST_PROXY")]
    pub trust_proxy: bool,

    #[command(flatten)]
    pub email: EmailConfig,

    #[command(flatten)]
    pub stories: StoryConfig,

    #[command(flatten)]
    pub oauth: OAuthConfig,

    #[command(flatten)]
    pub http_limits: HttpLimitConfig,

    #[command(flatten)]
    pub write_limits: WriteLimitConfig,

    #[command(flatten)]
    pub live: LiveConfig,

    #[command(flatten)]
    pub documents: DocumentConfig,

    /// Serve GraphiQL to browsers at GET /graphql (`false`: off).
    #[arg(long, env = "GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set)]
    pub graphiql: bool,

    #[command(flatten)]
    pub metrics: MetricsConfig,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..=64 * 1024 * 1024))]
    pub max_body_bytes: u64,
}

impl ServeConfig {
    /// The SPA's URL.
    pub fn app_url(&self) -> &Url {
        self.app_url.as_ref().unwrap_or(&self.public_url)
    }

    /// Origins allowed by CORS: CORS_ORIGINS, or APP_URL's origin.
    pub fn allowed_origins(&self) -> Vec<String> {
        if self.cors_origins.is_empty() {
            vec![self.app_url().origin().ascii_serialization()]
        } else {
            self.cors_origins.clone()
        }
    }
}

/// Time limits and the connection cap of the HTTP server.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpLimitConfig {
    /// Longest wait for a request's line and headers (a half-sent request, or an idle keep-alive connection, is closed), in seconds.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_read_timeout_secs: u64,

    /// Longest wait for the next piece of a request body (then 408), in seconds.
    #[arg(long, env = "BODY_READ_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub body_read_timeout_secs: u64,

    /// Longest time a request may take (then 503); a story generation adds OPENAI_TIMEOUT_SECS, in seconds.
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout_secs: u64,

    /// Most connections open at once; further ones wait in the listen backlog.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_connections: u32,
}

impl HttpLimitConfig {
    /// The header read timeout.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_secs)
    }

    /// The idle timeout of a request body.
    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_secs(self.body_read_timeout_secs)
    }

    /// The whole-request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }
}

/// Per-user write limits of the social core, per hour.
#[derive(Debug, Clone, clap::Args)]
pub struct WriteLimitConfig {
    /// New posts per user per hour.
    #[arg(long, env = "POSTS_PER_HOUR", default_value_t = 60, value_parser = clap::value_parser!(i32).range(1..=1_000_000))]
    pub posts_per_hour: i32,

    /// New replies per user per hour.
    #[arg(long, env = "REPLIES_PER_HOUR", default_value_t = 300, value_parser = clap::value_parser!(i32).range(1..=1_000_000))]
    pub replies_per_hour: i32,

    /// New goals per user per hour.
    #[arg(long, env = "GOALS_PER_HOUR", default_value_t = 100, value_parser = clap::value_parser!(i32).range(1..=1_000_000))]
    pub goals_per_hour: i32,

    /// Likes and unlikes per user per hour.
    #[arg(long, env = "LIKES_PER_HOUR", default_value_t = 1000, value_parser = clap::value_parser!(i32).range(1..=1_000_000))]
    pub likes_per_hour: i32,
}

/// How email leaves the server.
#[derive(Debug, Clone, clap::Args)]
pub struct EmailConfig {
    /// SMTP server, e.g. `smtps://user:pass@smtp.example.com` or `smtp://127.0.0.1:1025`; unset: emails are logged.
    #[arg(long, env = "SMTP_URL", value_parser = QuietParser(parse_smtp_url))]
    pub smtp_url: Option<secrecy::SecretString>,

    /// Sender of every email.
    #[arg(long, env = "MAIL_FROM", default_value = "Growth Diary <no-reply@localhost>", value_parser = parse_mailbox)]
    pub mail_from: lettre::message::Mailbox,

    /// Development only: emails written to the log (no SMTP_URL) keep their links and tokens.
    #[arg(long, env = "LOG_EMAIL_LINKS")]
    pub log_email_links: bool,
}

/// Which story generator to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GeneratorKind {
    /// Offline and deterministic: a story built from the diary itself.
    Template,
    /// Any OpenAI-compatible Chat Completions endpoint.
    Openai,
}

/// AI stories: the generator and the daily quota.
#[derive(Debug, Clone, clap::Args)]
pub struct StoryConfig {
    /// The story generator.
    #[arg(long, env = "STORY_GENERATOR", value_enum, default_value_t = GeneratorKind::Template)]
    pub story_generator: GeneratorKind,

    /// Generations per user per UTC day.
    #[arg(long, env = "STORY_DAILY_LIMIT", default_value_t = 5, value_parser = clap::value_parser!(i32).range(0..=10_000))]
    pub story_daily_limit: i32,

    /// Base URL of the Chat Completions API (OpenAI, Ollama, vLLM, llama.cpp's server).
    #[arg(long, env = "OPENAI_BASE_URL", default_value = "https://api.openai.com/v1", value_parser = parse_http_url)]
    pub openai_base_url: Url,

    /// API key, sent as a bearer token (optional for local servers).
    #[arg(long, env = "OPENAI_API_KEY")]
    pub openai_api_key: Option<secrecy::SecretString>,

    /// Model name.
    #[arg(long, env = "OPENAI_MODEL", default_value = "gpt-4o-mini")]
    pub openai_model: String,

    /// How long one generation may take, in seconds.
    #[arg(long, env = "OPENAI_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub openai_timeout_secs: u64,

    /// Most tokens one generation may write (`max_tokens` of the request).
    #[arg(long, env = "OPENAI_MAX_TOKENS", default_value_t = 1200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub openai_max_tokens: u32,

    /// Failed generations given back per user per UTC day; later failures count against the quota.
    #[arg(long, env = "STORY_DAILY_REFUNDS", default_value_t = 3, value_parser = clap::value_parser!(i32).range(0..=10_000))]
    pub story_daily_refunds: i32,
}

impl StoryConfig {
    /// How long one generation may take.
    pub fn openai_timeout(&self) -> Duration {
        Duration::from_secs(self.openai_timeout_secs)
    }
}

/// OAuth sign-in providers; each is enabled by its client id and secret.
#[derive(Debug, Clone, clap::Args)]
pub struct OAuthConfig {
    /// GitHub OAuth app client id.
    #[arg(long, env = "OAUTH_GITHUB_CLIENT_ID")]
    pub oauth_github_client_id: Option<String>,
    /// GitHub OAuth app client secret.
    #[arg(long, env = "OAUTH_GITHUB_CLIENT_SECRET")]
    pub oauth_github_client_secret: Option<secrecy::SecretString>,
    /// GitHub's web URL (change for GitHub Enterprise).
    #[arg(long, env = "OAUTH_GITHUB_URL", default_value = "https://github.com", value_parser = parse_http_url)]
    pub oauth_github_url: Url,
    /// GitHub's API URL (change for GitHub Enterprise).
    #[arg(long, env = "OAUTH_GITHUB_API_URL", default_value = "https://api.github.com", value_parser = parse_http_url)]
    pub oauth_github_api_url: Url,

    /// Google OAuth client id.
    #[arg(long, env = "OAUTH_GOOGLE_CLIENT_ID")]
    pub oauth_google_client_id: Option<String>,
    /// Google OAuth client secret.
    #[arg(long, env = "OAUTH_GOOGLE_CLIENT_SECRET")]
    pub oauth_google_client_secret: Option<secrecy::SecretString>,

    /// Issuer of any OpenID Connect provider (discovery at `{issuer}/.well-known/openid-configuration`).
    #[arg(long, env = "OAUTH_OIDC_ISSUER", value_parser = parse_http_url)]
    pub oauth_oidc_issuer: Option<Url>,
    /// Client id at that provider.
    #[arg(long, env = "OAUTH_OIDC_CLIENT_ID")]
    pub oauth_oidc_client_id: Option<String>,
    /// Client secret at that provider.
    #[arg(long, env = "OAUTH_OIDC_CLIENT_SECRET")]
    pub oauth_oidc_client_secret: Option<secrecy::SecretString>,
    /// Its name in URLs and accounts (`/auth/{name}/login`).
    #[arg(long, env = "OAUTH_OIDC_NAME", default_value = "oidc", value_parser = parse_provider_name)]
    pub oauth_oidc_name: String,

    /// 32 bytes, base64: encrypts provider tokens at rest (AES-256-GCM); unset: tokens are not stored.
    #[arg(long, env = "ENCRYPTION_KEY", value_parser = QuietParser(parse_encryption_key))]
    pub encryption_key: Option<EncryptionKey>,
}

/// Live updates: GraphQL subscriptions over WebSocket.
#[derive(Debug, Clone, clap::Args)]
pub struct LiveConfig {
    /// Subscriptions one WebSocket may hold at once.
    #[arg(long, env = "WS_MAX_SUBSCRIPTIONS", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub ws_max_subscriptions: u32,

    /// WebSockets one signed-in user may hold open on one instance.
    #[arg(long, env = "WS_MAX_SOCKETS_PER_USER", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub ws_max_sockets_per_user: u32,

    /// WebSockets one instance holds open at once (past it, upgrades get 503); keep it below the process's open-file limit.
    #[arg(long, env = "WS_MAX_SOCKETS", default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub ws_max_sockets: u32,

    /// WebSockets one client address (an IPv6 /64) may hold open on one instance (past it, upgrades get 429); each may make the server hold about 860 KiB at worst.
    #[arg(long, env = "WS_MAX_SOCKETS_PER_ADDRESS", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub ws_max_sockets_per_address: u32,

    /// Subscriptions the anonymous WebSockets of one client address (an IPv6 /64) may hold together on one instance.
    #[arg(long, env = "WS_MAX_ANONYMOUS_SUBSCRIPTIONS_PER_ADDRESS", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub ws_max_anonymous_subscriptions_per_address: u32,

    /// Largest WebSocket message a client may send, in bytes (larger: close 1009).
    #[arg(long, env = "WS_MAX_MESSAGE_BYTES", default_value_t = 65_536, value_parser = clap::value_parser!(u32).range(1024..=16 * 1024 * 1024))]
    pub ws_max_message_bytes: u32,

    /// Seconds a client has to send `connection_init` (then: close 4408).
    #[arg(long, env = "WS_INIT_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub ws_init_timeout_secs: u64,

    /// Seconds between the server's pings; a client silent for two intervals is dropped.
    #[arg(long, env = "WS_PING_INTERVAL_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ws_ping_interval_secs: u64,

    /// Events kept for each socket that has not taken them yet; past it, its subscriptions are told they missed some.
    #[arg(long, env = "LIVE_EVENT_BUFFER", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(16..=1_000_000))]
    pub live_event_buffer: u32,
}

/// Trusted documents and automatic persisted queries.
#[derive(Debug, Clone, clap::Args)]
pub struct DocumentConfig {
    /// Manifest of trusted documents: a JSON object of `"<sha256 hex>": "<document>"` entries.
    #[arg(long, env = "TRUSTED_DOCUMENTS")]
    pub trusted_documents: Option<std::path::PathBuf>,

    /// Run only the manifest's documents; refuse every other request.
    #[arg(long, env = "TRUSTED_DOCUMENTS_ONLY")]
    pub trusted_documents_only: bool,

    /// Bytes of documents registered by automatic persisted queries kept per instance (0: none are kept).
    #[arg(long, env = "APQ_CACHE_BYTES", default_value_t = 8 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(0..=1024 * 1024 * 1024))]
    pub apq_cache_bytes: u64,
}

/// Prometheus metrics: who may scrape them, and where.
#[derive(Debug, Clone, clap::Args)]
pub struct MetricsConfig {
    /// Bearer token a scraper sends to `GET /metrics` on the main address (16 to 256 visible ASCII characters); unset: 404 there.
    #[arg(long, env = "METRICS_TOKEN", value_parser = QuietParser(parse_metrics_token))]
    pub metrics_token: Option<secrecy::SecretString>,

    /// A separate address serving only `GET /metrics`, without a token (keep it private to the scraper).
    #[arg(long, env = "METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
}

fn parse_metrics_token(raw: &str) -> Result<secrecy::SecretString, String> {
    let ok = (16..=256).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(raw.into())
    } else {
        Err("must be 16 to 256 visible ASCII characters (e.g. `openssl rand -hex 32`)".into())
    }
}

/// An AES-256 key. Its `Debug` never shows it.
#[derive(Clone)]
pub struct EncryptionKey(pub [u8; 32]);

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey(..)")
    }
}

/// Parses `ENCRYPTION_KEY`: 32 bytes in standard or URL-safe base64.
pub fn parse_encryption_key(raw: &str) -> Result<EncryptionKey, String> {
    use base64::Engine;
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
    ];
    let bytes = engines
        .iter()
        .find_map(|engine| engine.decode(raw.trim()).ok())
        .ok_or("must be base64 (e.g. `openssl rand -base64 32`)")?;
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "must decode to exactly 32 bytes")?;
    Ok(EncryptionKey(key))
}

fn parse_provider_name(raw: &str) -> Result<String, String> {
    let ok = !raw.is_empty()
        && raw.len() <= 32
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err("must be 1 to 32 of a-z, 0-9 and -".into())
    }
}

fn parse_smtp_url(raw: &str) -> Result<secrecy::SecretString, String> {
    let url = Url::parse(raw).map_err(|err| format!("not a valid URL: {err}"))?;
    match url.scheme() {
        "smtp" | "smtps" if url.host().is_some() => Ok(raw.into()),
        _ => Err("must be an smtp:// or smtps:// URL with a host".into()),
    }
}

fn parse_mailbox(raw: &str) -> Result<lettre::message::Mailbox, String> {
    raw.parse()
        .map_err(|err| format!("not a valid mailbox: {err}"))
}

fn parse_origin(raw: &str) -> Result<String, String> {
    let url = parse_http_url(raw.trim())?;
    Ok(url.origin().ascii_serialization())
}

fn parse_http_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|err| format!("not a valid URL: {err}"))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        _ => Err("must be an http:// or https:// URL with a host".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_display_hides_the_password() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db.example.com:6543/diary").unwrap();
        assert_eq!(url.to_string(), "db.example.com:6543/diary");
        assert!(!format!("{url:?}").contains("s3cret"));
    }

    #[test]
    fn database_url_must_name_a_database() {
        assert!(DatabaseUrl::parse("postgres://postgres@127.0.0.1:5432").is_err());
        assert!(DatabaseUrl::parse("mysql://nope").is_err());
        assert!(
            DatabaseUrl::parse("postgres://postgres@127.0.0.1:5432/diary?sslmode=require").is_ok()
        );
    }

    #[test]
    fn smtp_urls_and_origins_are_checked() {
        assert!(parse_smtp_url("smtps://user:pass@smtp.example.com").is_ok());
        assert!(parse_smtp_url("http://smtp.example.com").is_err());
        assert_eq!(
            parse_origin("https://app.example.com/path").unwrap(),
            "https://app.example.com"
        );
        assert!(parse_mailbox("Diary <diary@example.com>").is_ok());
        assert!(parse_mailbox("not an address").is_err());
    }

    #[test]
    fn metrics_tokens_are_long_and_printable() {
        assert!(parse_metrics_token("0123456789abcdef").is_ok());
        assert!(parse_metrics_token("short").is_err());
        assert!(parse_metrics_token("has a space in it somewhere").is_err());
    }

    #[test]
    fn only_http_urls_are_accepted() {
        assert!(parse_http_url("https://app.example.com").is_ok());
        assert!(parse_http_url("ftp://example.com").is_err());
        assert!(parse_http_url("localhost:3000").is_err());
    }
}
