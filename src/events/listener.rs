//! The instance's one listening connection: `LISTEN` on a direct (unpooled)
//! connection, forwarding notifications to the hub, reconnecting with
//! exponential backoff when the connection drops (a database restart, a
//! failover, a terminated backend).
//!
//! With replicas, each event also carries a WAL position of the primary at
//! or past its commit, so that its deliveries may read from a replica that
//! has replayed that far (`db::replicas`). A position the publisher read
//! inside its transaction (`pg_current_wal_insert_lsn()` before `COMMIT`)
//! would not do: the commit record is written after it, so a replica could
//! have replayed that position and still not show the write. Instead the
//! listener asks the primary for its insert position after it received the
//! notification: PostgreSQL delivers a notification only once its
//! transaction has committed, so that commit record is already in the WAL
//! and ends at or before the position read. One question answers every
//! notification received before it was sent (those that arrive while it
//! is under way wait for the next one).

use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use tokio::sync::oneshot;
use tokio_postgres::{AsyncMessage, Client, SimpleQueryMessage};

use crate::config::DatabaseUrl;
use crate::db::connect;
use crate::db::replicas::Lsn;
use crate::events::hub::Fanout;
use crate::events::{CHANNEL, Delivery, Event};

/// `application_name` of the listening connection (operators find it in
/// `pg_stat_activity` by this name).
pub const APPLICATION_NAME: &str = "growth-diary-listener";

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the listener hears from its connection.
type Messages = connect::MessageStream;

/// Listens until `stop` fires or its sender is dropped; with `positions`,
/// events carry the primary's WAL position after their commit.
pub async fn run(
    url: DatabaseUrl,
    sender: Fanout,
    positions: bool,
    mut stop: oneshot::Receiver<()>,
) {
    let mut backoff = FIRST_BACKOFF;
    let mut listened_before = false;
    loop {
        let session = listen(&url, &sender, positions, &mut listened_before, &mut backoff);
        tokio::select! {
            _ = &mut stop => return,
            reason = session => {
                tracing::warn!(%reason, retry_in_ms = backoff.as_millis() as u64, "event listener lost its connection");
            }
        }
        tokio::select! {
            _ = &mut stop => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One listening session; returns why it ended. Resets `backoff` once it listens.
async fn listen(
    url: &DatabaseUrl,
    sender: &Fanout,
    mut positions: bool,
    listened_before: &mut bool,
    backoff: &mut Duration,
) -> String {
    let (client, mut messages) =
        match connect::listening_client(url, CONNECT_TIMEOUT, APPLICATION_NAME).await {
            Ok(pair) => pair,
            Err(err) => return format!("cannot connect: {err}"),
        };
    // The connection only makes progress while its messages are polled.
    let statement = format!("LISTEN {}", connect::quote_identifier(CHANNEL));
    let listening = client.batch_execute(&statement);
    tokio::pin!(listening);
    loop {
        tokio::select! {
            result = &mut listening => match result {
                Ok(()) => break,
                Err(err) => return format!("LISTEN failed: {err}"),
            },
            message = messages.next() => if let Err(reason) = heard(message, &mut Vec::new()) {
                return reason;
            },
        }
    }
    *backoff = FIRST_BACKOFF;
    if std::mem::replace(listened_before, true) {
        tracing::info!("event listener reconnected");
        sender.send(Delivery::Resumed);
    } else {
        tracing::info!("event listener started");
    }
    let mut events = Vec::new();
    loop {
        // Events that arrived during the last question are sent without waiting for more.
        if events.is_empty()
            && let Err(reason) = heard(messages.next().await, &mut events)
        {
            return reason;
        }
        // Whatever else has arrived shares the position question.
        while let Some(message) = messages.next().now_or_never() {
            if let Err(reason) = heard(message, &mut events) {
                return reason;
            }
        }
        if events.is_empty() {
            continue;
        }
        let mut later = Vec::new();
        let position = if positions {
            match position(&client, &mut messages, &mut later).await {
                Ok(position) => Some(position),
                Err(Failed::Lost(reason)) => {
                    // They committed: deliver them, from the primary.
                    send(sender, &mut events, None);
                    send(sender, &mut later, None);
                    return reason;
                }
                Err(Failed::Refused(reason)) => {
                    tracing::warn!(%reason, "the primary does not tell its WAL position; deliveries read from the primary");
                    positions = false;
                    None
                }
            }
        } else {
            None
        };
        send(sender, &mut events, position);
        events = later;
    }
}

/// Why the position question failed.
enum Failed {
    /// The connection is gone (the reason).
    Lost(String),
    /// The server refused the question (the reason): asking again will not help.
    Refused(String),
}

/// The primary's WAL insert position now, polling the connection
/// meanwhile: events that arrive before the answer go into `later` (they
/// may have committed after the position was read).
async fn position(
    client: &Client,
    messages: &mut Messages,
    later: &mut Vec<Event>,
) -> Result<Lsn, Failed> {
    // Text, not a typed pg_lsn: the simple protocol, one round trip, no
    // prepared statement.
    let asking = client.simple_query("SELECT (pg_current_wal_insert_lsn() - '0/0')::int8::text");
    tokio::pin!(asking);
    let rows = loop {
        tokio::select! {
            answer = &mut asking => break answer,
            message = messages.next() => heard(message, later).map_err(Failed::Lost)?,
        }
    };
    let rows = rows.map_err(|err| match err.as_db_error() {
        Some(db) => Failed::Refused(db.message().to_string()),
        None => Failed::Lost(err.to_string()),
    })?;
    rows.iter()
        .find_map(|row| match row {
            SimpleQueryMessage::Row(row) => row.get(0)?.parse::<u64>().ok(),
            _ => None,
        })
        .map(Lsn)
        .ok_or_else(|| Failed::Refused("no WAL position in the answer".into()))
}

/// Delivers `events`, in order, with `position`.
fn send(sender: &Fanout, events: &mut Vec<Event>, position: Option<Lsn>) {
    for event in events.drain(..) {
        sender.send(Delivery::Event(event, position));
    }
}

/// Keeps the event of one message of the connection; `Err` when the
/// connection ended.
fn heard(
    message: Option<Result<AsyncMessage, tokio_postgres::Error>>,
    events: &mut Vec<Event>,
) -> Result<(), String> {
    match message {
        Some(Ok(AsyncMessage::Notification(notification))) => {
            match serde_json::from_str::<Event>(notification.payload()) {
                Ok(event) => events.push(event),
                Err(err) => {
                    tracing::warn!(error = %err, payload = notification.payload(), "unknown event")
                }
            }
            Ok(())
        }
        Some(Ok(_)) => Ok(()),
        Some(Err(err)) => Err(err.to_string()),
        None => Err("the connection closed".into()),
    }
}
