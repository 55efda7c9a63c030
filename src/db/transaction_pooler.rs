//! Working behind a transaction pooler (PgBouncer with `pool_mode =
//! transaction`), which lends a server connection for one transaction at a
//! time.
//!
//! diesel-async runs every statement as a named prepared statement: a
//! `Parse` in one protocol round, then `Bind`/`Execute` in the next. Outside a
//! transaction a pooler may hand those two rounds to different server
//! connections (`prepared statement "s57" does not exist`), and a statement
//! cached on one server connection is missing on the next. So behind a
//! pooler:
//! - every checkout is one transaction, begun with the pool's
//!   `statement_timeout` as `SET LOCAL` (a session `SET` would stay on the
//!   lent server connection, for the pooler's other clients);
//! - statements are prepared afresh each time (no cache), inside it, after
//!   clearing whatever prepared statements the lent server connection holds;
//! - a write path ends with [`DbConn::finish`] (or [`DbConn::commit`]), so
//!   that its write is committed before the client hears of it; a checkout
//!   dropped without it (reads, mostly) commits on its way back to the pool;
//! - `LISTEN` and advisory locks go over `DATABASE_DIRECT_URL`.
//!
//! Without a pooler a checkout is the plain connection, and `commit` does
//! nothing.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use diesel::connection::CacheSize;
use diesel::sql_types::Text;
use diesel_async::pooled_connection::PoolError as ManagerError;
use diesel_async::pooled_connection::deadpool::{Object, PoolError};
use diesel_async::{
    AnsiTransactionManager, AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection,
    TransactionManager,
};

use crate::config::DatabaseUrl;
use crate::db::connect::{self, ConnectError};

/// A connection borrowed from the pool.
pub struct DbConn {
    object: Option<Object<AsyncPgConnection>>,
    /// In a transaction begun at checkout (behind a transaction pooler).
    pooled: bool,
}

impl DbConn {
    /// A checkout from a pool that talks to PostgreSQL directly.
    pub(crate) fn direct(object: Object<AsyncPgConnection>) -> Self {
        Self {
            object: Some(object),
            pooled: false,
        }
    }

    /// Ends a write path: commits the checkout's transaction (behind a
    /// transaction pooler) before the caller answers, whether `result` is a
    /// success or an error (as statements outside a transaction would have
    /// been), and hands `result` back, or the commit's error.
    pub async fn finish<R, E>(self, result: Result<R, E>) -> Result<R, E>
    where
        E: From<diesel::result::Error>,
    {
        let committed = self.commit().await;
        let value = result?;
        committed?;
        Ok(value)
    }

    /// Makes what this checkout wrote durable and visible to others before
    /// the caller answers. Only behind a transaction pooler is there anything
    /// to do: its checkouts are transactions.
    pub async fn commit(mut self) -> diesel::QueryResult<()> {
        if !self.pooled {
            return Ok(());
        }
        self.pooled = false;
        AnsiTransactionManager::commit_transaction(&mut *self).await
    }
}

impl Deref for DbConn {
    type Target = AsyncPgConnection;

    fn deref(&self) -> &AsyncPgConnection {
        self.object
            .as_ref()
            .expect("a checkout holds its connection until it is dropped")
    }
}

impl DerefMut for DbConn {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        self.object
            .as_mut()
            .expect("a checkout holds its connection until it is dropped")
    }
}

impl Drop for DbConn {
    fn drop(&mut self) {
        if !self.pooled {
            return;
        }
        let Some(object) = self.object.take() else {
            return;
        };
        // Outside a runtime (shutting down) the pool drops the connection:
        // it is in a transaction, so the server rolls it back.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(finish(object));
        }
    }
}

/// Ends the transaction of a checkout dropped without [`DbConn::commit`]
/// (reads, mostly): commits, so that nothing written is lost.
async fn finish(mut object: Object<AsyncPgConnection>) {
    // A failed transaction rolls back; either way the connection is then
    // idle, or broken and discarded by the pool.
    if AnsiTransactionManager::commit_transaction(&mut *object)
        .await
        .is_err()
    {
        let _ = AnsiTransactionManager::rollback_transaction(&mut *object).await;
    }
}

/// What a checkout begins with: its transaction, a clean slate of prepared
/// statements, and the statement timeout, in one round trip. The driver
/// names statements `s1`, `s2`, ... per process, so a statement another
/// instance left on the lent server connection (the driver keeps a few for
/// good) could carry the name of one of ours.
pub fn begin_statement(statement_timeout_ms: u64) -> String {
    format!("BEGIN; DEALLOCATE ALL; SET LOCAL statement_timeout = {statement_timeout_ms}")
}

/// Begins a checkout's transaction. The pooler makes `BEGIN` wait until it
/// has a server connection to lend (up to its `query_wait_timeout`, two
/// minutes by default); that is this checkout's wait for a connection, so it
/// is bounded by the pool's wait timeout and answered as one (a retryable
/// 503). A connection whose `BEGIN` failed or was abandoned is closed.
pub(crate) async fn begin(
    mut object: Object<AsyncPgConnection>,
    begin: &str,
    wait: Duration,
) -> Result<DbConn, PoolError> {
    let begun = tokio::time::timeout(
        wait,
        AnsiTransactionManager::begin_transaction_sql(&mut *object, begin),
    )
    .await;
    let failure = match begun {
        Ok(Ok(())) => {
            return Ok(DbConn {
                object: Some(object),
                pooled: true,
            });
        }
        Ok(Err(err)) => PoolError::Backend(ManagerError::QueryError(err)),
        Err(_) => PoolError::Timeout(deadpool::managed::TimeoutType::Wait),
    };
    drop(Object::take(object));
    Err(failure)
}

/// Opens a connection through a transaction pooler. diesel-async sets a new
/// connection up with prepared statements of its own (the session's time
/// zone and encoding, which the pooler then carries to every server
/// connection it lends this client); they run inside a transaction here, so
/// that they reach one server connection. Then the statement cache is turned
/// off and the database's enum types are made known to the driver up front:
/// the driver looks an unknown type up with a statement it prepares once and
/// keeps, which would be missing on the next server connection.
pub(crate) async fn establish(
    url: &DatabaseUrl,
    timeout: Duration,
) -> Result<AsyncPgConnection, ConnectError> {
    let client = connect::client(url, timeout)
        .await
        .map_err(|err| ConnectError::Connect {
            url: url.to_string(),
            reason: connect::describe(&err),
        })?;
    let setup_error = |reason: String| ConnectError::Setup {
        url: url.to_string(),
        reason,
    };
    client
        .batch_execute("BEGIN")
        .await
        .map_err(|err| setup_error(connect::describe(&err)))?;
    let mut conn = AsyncPgConnection::try_from(client)
        .await
        .map_err(|err| setup_error(err.to_string()))?;
    conn.set_prepared_statement_cache_size(CacheSize::Disabled);
    learn_enum_types(&mut conn)
        .await
        .map_err(|err| setup_error(err.to_string()))?;
    // diesel's transaction manager did not see this transaction begin. What
    // the set-up prepared stays with the driver, not on the server.
    conn.batch_execute("DEALLOCATE ALL; COMMIT")
        .await
        .map_err(|err| setup_error(err.to_string()))?;
    Ok(conn)
}

/// Has the driver describe a value of every enum type (and its array), which
/// is when it looks each up and keeps it.
async fn learn_enum_types(conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
    #[derive(diesel::QueryableByName)]
    struct Probe {
        #[diesel(sql_type = Text)]
        probe: String,
    }
    let Probe { probe } = diesel::sql_query(
        "SELECT 'SELECT ' || coalesce(string_agg(format('NULL::%1$I.%2$I, NULL::%1$I.%2$I[]', n.nspname, t.typname), ', '), 'NULL') AS probe
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
         WHERE t.typtype = 'e' AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
    )
    .get_result(conn)
    .await?;
    diesel::sql_query(probe).execute(conn).await?;
    Ok(())
}
