//! Typed configuration, read from environment variables or the matching CLI flags.
//!
//! Every default works on a machine where PostgreSQL listens on 127.0.0.1:5432
//! with trust authentication, so `cargo run --release` needs no setup.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use url::Url;

/// The database a fresh checkout talks to.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/growth_diary";

/// A validated PostgreSQL connection string. Its `Debug` and `Display` never show the password.
#[derive(Clone)]
pub struct DatabaseUrl {
    config: tokio_postgres::Config,
}

impl DatabaseUrl {
    /// Parses a `postgres://` URL (or a libpq key=value string) that names a database.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let config = tokio_postgres::Config::from_str(raw)
            .map_err(|err| format!("not a valid PostgreSQL connection string: {err}"))?;
        if config.get_hosts().is_empty() {
            return Err("the connection string names no host".into());
        }
        if config.get_dbname().is_none_or(str::is_empty) {
            return Err("the connection string names no database".into());
        }
        Ok(Self { config })
    }

    /// The driver's view of the connection string.
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// The name of the database this URL points at.
    pub fn database_name(&self) -> &str {
        self.config.get_dbname().unwrap_or_default()
    }

    /// The same server and credentials, another database.
    pub fn with_database(&self, name: &str) -> Self {
        let mut config = self.config.clone();
        config.dbname(name);
        Self { config }
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
    /// Connection string the server's pool uses (may point at a transaction pooler).
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, value_parser = DatabaseUrl::parse)]
    pub database_url: DatabaseUrl,

    /// Direct (unpooled) connection string for migrations and advisory locks; defaults to DATABASE_URL.
    #[arg(long, env = "DATABASE_DIRECT_URL", value_parser = DatabaseUrl::parse)]
    pub database_direct_url: Option<DatabaseUrl>,

    /// Connections in the pool of each instance.
    #[arg(long, env = "DATABASE_POOL_SIZE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_pool_size: u32,

    /// `statement_timeout` of every pooled connection, in milliseconds.
    #[arg(long, env = "DATABASE_STATEMENT_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub database_statement_timeout_ms: u64,

    /// How long to wait for a new connection or a free pooled one, in seconds.
    #[arg(long, env = "DATABASE_CONNECT_TIMEOUT_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub database_connect_timeout_secs: u64,
}

impl DatabaseConfig {
    /// A configuration for `url` with every other setting at its default.
    pub fn for_url(url: DatabaseUrl) -> Self {
        Self {
            database_url: url,
            database_direct_url: None,
            database_pool_size: 10,
            database_statement_timeout_ms: 10_000,
            database_connect_timeout_secs: 5,
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

/// How email leaves the server.
#[derive(Debug, Clone, clap::Args)]
pub struct EmailConfig {
    /// SMTP server, e.g. `smtps://user:pass@smtp.example.com` or `smtp://127.0.0.1:1025`; unset: emails are logged.
    #[arg(long, env = "SMTP_URL", value_parser = parse_smtp_url)]
    pub smtp_url: Option<secrecy::SecretString>,

    /// Sender of every email.
    #[arg(long, env = "MAIL_FROM", default_value = "Growth Diary <no-reply@localhost>", value_parser = parse_mailbox)]
    pub mail_from: lettre::message::Mailbox,
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
    #[arg(long, env = "ENCRYPTION_KEY", value_parser = parse_encryption_key)]
    pub encryption_key: Option<EncryptionKey>,
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
    fn only_http_urls_are_accepted() {
        assert!(parse_http_url("https://app.example.com").is_ok());
        assert!(parse_http_url("ftp://example.com").is_err());
        assert!(parse_http_url("localhost:3000").is_err());
    }
}
