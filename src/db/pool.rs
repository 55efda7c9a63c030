//! The connection pool every request borrows from.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::ConnectionError;
use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel_async::pooled_connection::deadpool::{BuildError, Pool, PoolError};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::FutureExt;

use crate::config::{DatabaseConfig, PoolerMode};
use crate::db::connect;
use crate::db::transaction_pooler;

pub use crate::db::transaction_pooler::DbConn;

/// The pool of PostgreSQL connections. Behind a transaction pooler every
/// checkout is one transaction (see [`transaction_pooler`]).
#[derive(Clone)]
pub struct DbPool {
    inner: Pool<AsyncPgConnection>,
    /// What a checkout begins with, behind a transaction pooler.
    begin: Option<Arc<str>>,
    /// Tells this pool's clones from other pools.
    identity: Arc<()>,
}

impl DbPool {
    /// Borrows a connection (behind a transaction pooler: in a transaction
    /// of its own, see [`DbConn::commit`]).
    pub async fn get(&self) -> Result<DbConn, PoolError> {
        let object = self.inner.get().await?;
        match &self.begin {
            None => Ok(DbConn::direct(object)),
            Some(begin) => {
                let wait = self.inner.timeouts().wait.unwrap_or(Duration::from_secs(5));
                transaction_pooler::begin(object, begin, wait).await
            }
        }
    }

    /// Whether `other` is a clone of this pool.
    pub fn same(&self, other: &DbPool) -> bool {
        Arc::ptr_eq(&self.identity, &other.identity)
    }

    /// The pool's size and use.
    pub fn status(&self) -> deadpool::Status {
        self.inner.status()
    }

    /// The pool's wait, create and recycle timeouts.
    pub fn timeouts(&self) -> deadpool::managed::Timeouts {
        self.inner.timeouts()
    }
}

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

/// What every pooled connection reports its statements to: the counter, and
/// the `growth_diary::sql` trace.
#[derive(Debug, Clone)]
struct SqlTrace {
    counter: StatementCounter,
    /// Log bind values too (LOG_SQL_BINDS; development and benchmarks only).
    binds: bool,
    /// The next statement begins, commits or rolls back a transaction (or a
    /// savepoint): protocol, not work, so neither counted nor charged.
    transaction_control: bool,
}

/// What diesel's query `Display` puts between the SQL and its bind values.
const BINDS_MARKER: &str = " -- binds: ";

impl Instrumentation for SqlTrace {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        // The transaction manager reports each of these just before it sends
        // the statement that carries it out.
        if matches!(
            event,
            InstrumentationEvent::BeginTransaction { .. }
                | InstrumentationEvent::CommitTransaction { .. }
                | InstrumentationEvent::RollbackTransaction { .. }
        ) {
            self.transaction_control = true;
        }
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            // RUST_LOG=growth_diary::sql=trace prints every statement.
            if tracing::enabled!(target: "growth_diary::sql", tracing::Level::TRACE) {
                let rendered = query.to_string();
                let sql = if self.binds {
                    rendered.as_str()
                } else {
                    statement_only(&rendered)
                };
                tracing::trace!(target: "growth_diary::sql", "{sql}");
            }
            if std::mem::take(&mut self.transaction_control) {
                return;
            }
            self.counter.0.fetch_add(1, Ordering::Relaxed);
            crate::db::statement_budget::charge();
        }
    }
}

/// The SQL of a rendered query, without its bind values: they carry
/// password hashes, token digests, PKCE verifiers and whole emails with
/// their links. The SQL is this program's own text and comes first, so the
/// first marker is where the binds begin, whatever they contain.
fn statement_only(rendered: &str) -> &str {
    rendered
        .find(BINDS_MARKER)
        .map_or(rendered, |at| &rendered[..at])
}

/// Builds the pool. Connections are opened lazily, each with its
/// `statement_timeout` set (per transaction behind a transaction pooler)
/// and counted by `counter`.
pub fn build(config: &DatabaseConfig, counter: &StatementCounter) -> Result<DbPool, BuildError> {
    let pooled = config.database_pooler == PoolerMode::Transaction;
    let trace = SqlTrace {
        counter: counter.clone(),
        binds: config.log_sql_binds,
        transaction_control: false,
    };
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
        let trace = trace.clone();
        async move {
            let mut conn = if pooled {
                // No session `SET statement_timeout`: it would stay on
                // whichever server connection the pooler lent, for its other
                // clients; each checkout sets it for its transaction instead.
                transaction_pooler::establish(&url, connect_timeout)
                    .await
                    .map_err(|err| ConnectionError::BadConnection(err.to_string()))?
            } else {
                let mut conn = connect::establish(&url, connect_timeout)
                    .await
                    .map_err(|err| ConnectionError::BadConnection(err.to_string()))?;
                diesel::sql_query(set_timeout)
                    .execute(&mut conn)
                    .await
                    .map_err(ConnectionError::CouldntSetupConfiguration)?;
                conn
            };
            conn.set_instrumentation(trace);
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::new_with_config(String::new(), manager_config);
    let timeout = Some(connect_timeout);
    let inner = Pool::builder(manager)
        .max_size(config.database_pool_size as usize)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(timeout)
        .create_timeout(timeout)
        .recycle_timeout(Some(Duration::from_secs(1)))
        .build()?;
    let begin = pooled
        .then(|| transaction_pooler::begin_statement(config.database_statement_timeout_ms).into());
    Ok(DbPool {
        inner,
        begin,
        identity: Arc::new(()),
    })
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
        diesel::sql_query("SELECT 1").execute(&mut *conn).await?;
        Ok(())
    };
    tokio::time::timeout(limit, attempt)
        .await
        .map_err(|_| PingError::Timeout(limit))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trace_keeps_the_sql_and_drops_the_binds() {
        use diesel::sql_types::Text;
        let query = diesel::sql_query("INSERT INTO email_outbox (text_body) VALUES ($1)")
            .bind::<Text, _>("reset: https://app/reset-password?token=SECRET -- binds: x");
        let rendered = diesel::debug_query::<diesel::pg::Pg, _>(&query).to_string();
        assert!(
            rendered.contains("SECRET"),
            "diesel renders the binds: {rendered}"
        );
        assert_eq!(
            statement_only(&rendered),
            "INSERT INTO email_outbox (text_body) VALUES ($1)"
        );
        assert_eq!(statement_only("BEGIN"), "BEGIN");
    }
}
