//! Opening connections (over TLS as the URL's `sslmode` says, see `db::tls`) and
//! creating the database when it does not exist yet.

use std::time::Duration;

use diesel_async::AsyncPgConnection;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

use crate::config::{DatabaseConfig, DatabaseUrl};

/// Why a connection could not be made or the database could not be created.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The server could not be reached, or refused us.
    #[error("cannot connect to the database at {url}: {reason}")]
    Connect { url: String, reason: String },
    /// The database was missing and could not be created.
    #[error("cannot create the database {url}: {reason}")]
    Create { url: String, reason: String },
    /// The connection was made but could not be set up.
    #[error("cannot set up a connection to {url}: {reason}")]
    Setup { url: String, reason: String },
}

/// A diesel-async connection to `url`, with `timeout` for the TCP and TLS handshake.
pub async fn establish(
    url: &DatabaseUrl,
    timeout: Duration,
) -> Result<AsyncPgConnection, ConnectError> {
    let config = session_config(url, timeout);
    let connect_error = |err: tokio_postgres::Error| ConnectError::Connect {
        url: url.to_string(),
        reason: describe(&err),
    };
    let setup_error = |err: diesel::ConnectionError| ConnectError::Setup {
        url: url.to_string(),
        reason: err.to_string(),
    };
    if let Some(tls) = url.tls().connector() {
        let (client, connection) = config.connect(tls).await.map_err(connect_error)?;
        AsyncPgConnection::try_from_client_and_connection(client, connection)
            .await
            .map_err(setup_error)
    } else {
        let (client, connection) = config.connect(NoTls).await.map_err(connect_error)?;
        AsyncPgConnection::try_from_client_and_connection(client, connection)
            .await
            .map_err(setup_error)
    }
}

/// Creates the configured database when it does not exist. Safe when several
/// instances start at once: losing the race to create it is not an error.
pub async fn ensure_database(config: &DatabaseConfig) -> Result<(), ConnectError> {
    let url = config.migration_url();
    let timeout = config.connect_timeout();
    let err = match client(url, timeout).await {
        Ok(_) => return Ok(()),
        Err(err) => err,
    };
    if err.code() != Some(&SqlState::INVALID_CATALOG_NAME) {
        return Err(ConnectError::Connect {
            url: url.to_string(),
            reason: describe(&err),
        });
    }
    let create_error = |err: tokio_postgres::Error| ConnectError::Create {
        url: url.to_string(),
        reason: describe(&err),
    };
    let maintenance = client(&url.with_database("postgres"), timeout)
        .await
        .map_err(create_error)?;
    let statement = format!("CREATE DATABASE {}", quote_identifier(url.database_name()));
    match maintenance.batch_execute(&statement).await {
        Ok(()) => {
            tracing::info!(database = url.database_name(), "created the database");
            Ok(())
        }
        Err(err)
            if err.code() == Some(&SqlState::DUPLICATE_DATABASE)
                || err.code() == Some(&SqlState::UNIQUE_VIOLATION) =>
        {
            Ok(())
        }
        Err(err) => Err(create_error(err)),
    }
}

/// A plain tokio-postgres client for administrative statements; its connection
/// is driven by a spawned task that ends when the client is dropped.
pub async fn client(url: &DatabaseUrl, timeout: Duration) -> Result<Client, tokio_postgres::Error> {
    let config = session_config(url, timeout);
    if let Some(tls) = url.tls().connector() {
        let (client, connection) = config.connect(tls).await?;
        tokio::spawn(connection);
        Ok(client)
    } else {
        let (client, connection) = config.connect(NoTls).await?;
        tokio::spawn(connection);
        Ok(client)
    }
}

/// The stream of a connection's asynchronous messages (notifications, notices).
pub type MessageStream = futures_util::stream::BoxStream<
    'static,
    Result<tokio_postgres::AsyncMessage, tokio_postgres::Error>,
>;

/// A client whose connection's messages the caller polls itself (for
/// `LISTEN`; the client only makes progress while they are polled). TCP
/// keepalives find a dead peer that would otherwise look idle forever.
pub async fn listening_client(
    url: &DatabaseUrl,
    timeout: Duration,
    application_name: &str,
) -> Result<(Client, MessageStream), tokio_postgres::Error> {
    let mut config = session_config(url, timeout);
    config.application_name(application_name);
    config.keepalives(true);
    config.keepalives_idle(Duration::from_secs(30));
    if let Some(tls) = url.tls().connector() {
        let (client, mut connection) = config.connect(tls).await?;
        let messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        Ok((client, Box::pin(messages)))
    } else {
        let (client, mut connection) = config.connect(NoTls).await?;
        let messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        Ok((client, Box::pin(messages)))
    }
}

/// Quotes a PostgreSQL identifier (for statements that cannot take parameters).
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn session_config(url: &DatabaseUrl, timeout: Duration) -> tokio_postgres::Config {
    let mut config = url.config().clone();
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(timeout);
    }
    if config.get_application_name().is_none() {
        config.application_name("growth-diary");
    }
    config
}

/// The server's own words when it sent any, else the driver's error chain.
pub fn describe(err: &tokio_postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        return db.message().to_string();
    }
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_identifier("growth_diary"), "\"growth_diary\"");
        assert_eq!(quote_identifier("we\"ird"), "\"we\"\"ird\"");
    }
}
