//! The connection pool every request borrows from.

use std::time::Duration;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use diesel::ConnectionError;
use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel_async::pooled_connection::deadpool::{BuildError, Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::FutureExt;

use crate::config::DatabaseConfig;
use crate::db::connect;

/// The pool of PostgreSQL connections.
pub type DbPool = Pool<AsyncPgConnection>;
/// A connection borrowed from the pool.
pub type DbConn = Object<AsyncPgConnection>;

/// Counts the SQL statements run through a pool: the statement-count test reads
/// it, and it costs one relaxed atomic add per statement.
#[derive(Debug, Clone, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    /// Statements run so far.
    pub fn get(&self) -> u64 {
        AtomicU64::load(&self.0, Ordering::Relaxed)
    }
}

impl Instrumentation for StatementCounter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            // RUST_LOG=growth_diary::sql=trace prints every statement.
            tracing::trace!(target: "growth_diary::sql", "{query}");
            self.0.fetch_add(1, Ordering::Relaxed);
            crate::db::statement_budget::charge();
        }
    }
}

/// Builds the pool. Connections are opened lazily, each with its
/// `statement_timeout` set and counted by `counter`.
pub fn build(config: &DatabaseConfig, counter: &StatementCounter) -> Result<DbPool, BuildError> {
    let counter = counter.clone();
    let url = config.database_url.clone();
    let connect_timeout = config.connect_timeout();
    let set_timeout = format!(
        "SET statement_timeout = {}",
        config.database_statement_timeout_ms
    );
    let mut manager_config = ManagerConfig::<AsyncPgConnection>::default();
    // `Verified` would spend a `SELECT 1` on every checkout; a broken connection
    // fails its first query instead and is then dropped by the pool.
    manager_config.recycling_method = RecyclingMethod::Fast;
    manager_config.custom_setup = Box::new(move |_| {
        let url = url.clone();
        let set_timeout = set_timeout.clone();
        let counter = counter.clone();
        async move {
            let mut conn = connect::establish(&url, connect_timeout)
                .await
                .map_err(|err| ConnectionError::BadConnection(err.to_string()))?;
            diesel::sql_query(set_timeout)
                .execute(&mut conn)
                .await
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
            conn.set_instrumentation(counter);
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::new_with_config(String::new(), manager_config);
    let timeout = Some(connect_timeout);
    Pool::builder(manager)
        .max_size(config.database_pool_size as usize)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(timeout)
        .create_timeout(timeout)
        .recycle_timeout(Some(Duration::from_secs(1)))
        .build()
}

/// Why the database did not answer a ping.
#[derive(Debug, thiserror::Error)]
pub enum PingError {
    #[error("no connection: {0}")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
    #[error("query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// Runs `SELECT 1` on a pooled connection, within the pool's connect timeout.
pub async fn ping(pool: &DbPool) -> Result<(), PingError> {
    let limit = pool.timeouts().wait.unwrap_or(Duration::from_secs(5));
    let attempt = async {
        let mut conn = pool.get().await?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await?;
        Ok(())
    };
    tokio::time::timeout(limit, attempt)
        .await
        .map_err(|_| PingError::Timeout(limit))?
}
