//! Wiring: builds the pieces, serves them, shuts down. Only the binary (and
//! the tests, which start servers) use it; nothing in the server imports it.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::auth::cookie::CookieSettings;
use crate::auth::device::DeviceSigner;
use crate::auth::secretbox::SecretBox;
use crate::background;
use crate::email::Mailer;
use crate::events::EventHub;
use crate::oauth::{self, flow::OAuthService};
use crate::stories;

use crate::config::{PoolerMode, ServeConfig};
use crate::db;
use crate::db::connect::ConnectError;
use crate::db::migrate::MigrateError;
use crate::db::pool::StatementCounter;
use crate::graphql;
use crate::http::{self, AppState};
use crate::services::Services;

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Migrate(#[from] MigrateError),
    #[error(transparent)]
    Embedded(#[from] db::embedded::EmbeddedError),
    #[error("cannot build the database pool: {0}")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::BuildError),
    #[error("the database does not answer: {0}")]
    Database(#[from] db::pool::PingError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("OAuth settings: {0}")]
    OAuth(#[from] oauth::provider::ProviderConfigError),
    #[error("SMTP_URL is not usable: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("seeding failed: {0}")]
    Seed(String),
    #[error(transparent)]
    DeviceKey(#[from] crate::auth::device::KeyError),
    #[error("trusted documents: {0}")]
    Documents(#[from] crate::documents::ManifestError),
    #[error(
        "DATABASE_POOLER=transaction needs DATABASE_DIRECT_URL: LISTEN, advisory locks and migrations hold a session, which a transaction pooler does not keep"
    )]
    PoolerWithoutDirectUrl,
    #[error(transparent)]
    Backup(#[from] db::backup::BackupError),
}

/// Prepares the database (create, migrate unless told not to), starts the
/// background work, and builds the web layer's state.
pub async fn build(config: ServeConfig) -> Result<AppState, StartError> {
    if config.database.database_pooler == PoolerMode::Transaction
        && config.database.database_direct_url.is_none()
    {
        return Err(StartError::PoolerWithoutDirectUrl);
    }
    // First: a bad manifest should fail before any database work.
    let documents = Arc::new(graphql::trusted::load(&config.documents).await?);
    crate::metrics::recorder::install();
    if !documents.manifest().is_empty() {
        crate::metrics::operation::register_operation_names(documents.manifest().operation_names());
    }
    db::connect::ensure_database(&config.database).await?;
    if !config.skip_migrations {
        for version in db::migrate::run_pending(&config.database).await? {
            tracing::info!(%version, "applied migration");
        }
    }
    let mailer = Mailer::from_config(&config.email)?;
    let statements = StatementCounter::default();
    let pool = db::pool::build(&config.database, &statements)?;
    db::pool::ping(&pool).await?;
    let replicas = db::replicas::Replicas::start(&config.database, &statements, pool.clone())?;
    let story_generator = stories::generator::from_config(&config.stories);
    let providers = oauth::provider::from_config(&config.oauth)?;
    let secrets = config.oauth.encryption_key.as_ref().map(SecretBox::new);
    let oauth = Arc::new(OAuthService::new(providers, secrets));
    let devices = DeviceSigner::load(&pool).await?;
    let services = Services {
        pool: pool.clone(),
        cookies: CookieSettings::for_public_url(&config.public_url),
        devices,
        story_generator,
        config: Arc::new(config),
        email_wakeup: Arc::new(Notify::new()),
        statements,
        replicas,
    };
    background::start(pool, mailer, services.email_wakeup.clone());
    let live = &services.config.live;
    let hub = EventHub::start(
        services.config.database.migration_url().clone(),
        usize::try_from(live.live_event_buffer).unwrap_or(usize::MAX),
        services.replicas.is_some(),
    );
    let max_sockets = usize::try_from(live.ws_max_sockets_per_user).unwrap_or(usize::MAX);
    let ws = http::ws::WsState {
        sockets: http::ws::Sockets::start(max_sockets, &hub, services.pool.clone()),
        hub: hub.clone(),
        capacity: http::ws::Capacity::new(
            usize::try_from(live.ws_max_sockets).unwrap_or(usize::MAX),
            usize::try_from(live.ws_max_sockets_per_address).unwrap_or(usize::MAX),
            usize::try_from(live.ws_max_anonymous_subscriptions_per_address).unwrap_or(usize::MAX),
        ),
        pricer: Arc::new(graphql::pricing::Pricer::new()),
        shared: http::ws::SharedRuns::new(),
    };
    let schema = graphql::builder()
        .data(services.clone())
        .data(graphql::subscription::Live::new(
            hub,
            &services.pool,
            &services
                .replicas
                .as_ref()
                .map(|replicas| replicas.pools())
                .unwrap_or_default(),
        ))
        .finish();
    Ok(AppState {
        services,
        schema,
        oauth,
        ws,
        documents,
    })
}

/// `growth-diary serve`: start, listen, and serve until SIGTERM or Ctrl-C;
/// an embedded database is stopped last.
pub async fn run(mut config: ServeConfig) -> Result<(), StartError> {
    let addr = config.listen_addr;
    // Bind first: a taken port should fail before any database work.
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Listen { addr, source })?;
    // The bound address: with port 0 the system picked it.
    let addr = listener.local_addr().unwrap_or(addr);
    let metrics_listener = match config.metrics.metrics_addr {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|source| StartError::Listen { addr, source })?,
        ),
        None => None,
    };
    let embedded = db::embedded::prepare(&mut config.database).await?;
    let served = async {
        let state = build(config).await?;
        if let Some(listener) = metrics_listener {
            serve_metrics(listener, state.clone());
        }
        tracing::info!(%addr, database = %state.services.config.database.database_url, "listening");
        serve(listener, state, shutdown_signal()).await;
        Ok(())
    }
    .await;
    if let Some(cluster) = embedded {
        cluster.stop().await;
    }
    served
}

/// Serves `state` on `listener` within its connection limits until `shutdown`
/// completes; requests in flight finish first, and WebSockets are closed with
/// 1001 (going away) so their clients reconnect to another instance.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let limits = state.services.config.http_limits.clone();
    let capacity = state.ws.capacity.clone();
    let (stopped, stopping) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        shutdown.await;
        let _ = stopped.send(());
    };
    let sockets = async move {
        if stopping.await.is_ok() {
            capacity.close_all(http::SHUTDOWN_GRACE).await;
        }
    };
    tokio::join!(
        http::server::serve(listener, http::router(state), &limits, shutdown),
        sockets
    );
}

/// Serves `GET /metrics` alone on `listener` (`METRICS_ADDR`), until the process ends.
pub fn serve_metrics(listener: TcpListener, state: AppState) {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving metrics");
    }
    let limits = state.services.config.http_limits.clone();
    let router = http::metrics::router(state);
    tokio::spawn(async move {
        http::server::serve(listener, router, &limits, std::future::pending::<()>()).await;
    });
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down; waiting for requests in flight");
}
