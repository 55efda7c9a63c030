//! Whether a failure means the database cannot be reached right now (a
//! restart, a failover, a network cut), as opposed to a fault of the
//! statement: the first is worth retrying, the second is not.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::PoolError as ManagerError;
use diesel_async::pooled_connection::deadpool::PoolError;

/// Seconds a client is told to wait before retrying (`Retry-After`): about
/// what a PostgreSQL restart or a managed failover takes.
pub const RETRY_AFTER_SECS: u64 = 5;

/// What PostgreSQL says (in its default English) when it ends or refuses a
/// session for want of a server: SQLSTATE 57P01 `admin_shutdown`, 57P02
/// `crash_shutdown` and 57P03 `cannot_connect_now`. diesel-async keeps the
/// message of a server error but not its SQLSTATE, so the message is all
/// there is to go on; a server set to another `lc_messages` language makes
/// these errors internal ones (the next statement on the dead connection is
/// then recognised anyway, below).
const SERVER_GOING_AWAY: [&str; 5] = [
    "terminating connection due to administrator command",
    "terminating connection because of crash of another server process",
    "the database system is shutting down",
    "the database system is starting up",
    "the database system is in recovery mode",
];

/// What PgBouncer says when it has no server connection to lend: it cannot
/// reach PostgreSQL, PostgreSQL turns it away, or the server connection it
/// had lent died.
const POOLER_WITHOUT_SERVER: [&str; 5] = [
    "pgbouncer cannot connect to server",
    "server login has been failing",
    "server conn crashed",
    "is not currently accepting connections",
    "query_wait_timeout",
];

/// True when a pool checkout failed because no connection could be made or
/// none came free in time. A checkout wait that times out under load is also
/// a moment to come back later.
pub fn pool_error_is_unavailable(err: &PoolError) -> bool {
    match err {
        PoolError::Timeout(_) | PoolError::Closed | PoolError::PostCreateHook(_) => true,
        PoolError::Backend(ManagerError::ConnectionError(_)) => true,
        PoolError::Backend(ManagerError::QueryError(err)) => is_unavailable(err),
        PoolError::NoRuntimeSpecified => false,
    }
}

/// True when a statement failed because its connection broke or the server
/// is shutting down, not because of the statement.
pub fn is_unavailable(err: &DieselError) -> bool {
    match err {
        DieselError::DatabaseError(kind, info) => match kind {
            // The connection is gone (the driver could not send, or the
            // server closed it: SQLSTATE class 08 and a dropped socket).
            DatabaseErrorKind::UnableToSendCommand | DatabaseErrorKind::ClosedConnection => true,
            DatabaseErrorKind::Unknown => {
                SERVER_GOING_AWAY
                    .iter()
                    .any(|message| info.message().starts_with(message))
                    || POOLER_WITHOUT_SERVER
                        .iter()
                        .any(|message| info.message().contains(message))
            }
            _ => false,
        },
        DieselError::BrokenTransactionManager => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database_error(kind: DatabaseErrorKind, message: &str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(message.to_string()))
    }

    #[test]
    fn broken_connections_are_unavailable_and_statement_faults_are_not() {
        assert!(is_unavailable(&database_error(
            DatabaseErrorKind::UnableToSendCommand,
            "connection closed"
        )));
        assert!(is_unavailable(&database_error(
            DatabaseErrorKind::Unknown,
            "terminating connection due to administrator command"
        )));
        assert!(!is_unavailable(&database_error(
            DatabaseErrorKind::Unknown,
            "canceling statement due to statement timeout"
        )));
        assert!(!is_unavailable(&database_error(
            DatabaseErrorKind::UniqueViolation,
            "duplicate key"
        )));
        assert!(!is_unavailable(&DieselError::NotFound));
        assert!(pool_error_is_unavailable(&PoolError::Timeout(
            deadpool::managed::TimeoutType::Wait
        )));
        assert!(pool_error_is_unavailable(&PoolError::Backend(
            ManagerError::ConnectionError(diesel::ConnectionError::BadConnection("refused".into()))
        )));
        assert!(!pool_error_is_unavailable(&PoolError::NoRuntimeSpecified));
    }
}
