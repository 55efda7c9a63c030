//! The instance's one listening connection: `LISTEN` on a direct (unpooled)
//! connection, forwarding notifications to the hub, reconnecting with
//! exponential backoff when the connection drops (a database restart, a
//! failover, a terminated backend).

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::oneshot;
use tokio_postgres::AsyncMessage;

use crate::config::DatabaseUrl;
use crate::db::connect;
use crate::events::hub::Fanout;
use crate::events::{CHANNEL, Delivery, Event};

/// `application_name` of the listening connection (operators find it in
/// `pg_stat_activity` by this name).
pub const APPLICATION_NAME: &str = "growth-diary-listener";

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Listens until `stop` fires or its sender is dropped.
pub async fn run(url: DatabaseUrl, sender: Fanout, mut stop: oneshot::Receiver<()>) {
    let mut backoff = FIRST_BACKOFF;
    let mut listened_before = false;
    loop {
        let session = listen(&url, &sender, &mut listened_before, &mut backoff);
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
            message = messages.next() => if let Err(reason) = forward(message, sender) {
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
    loop {
        if let Err(reason) = forward(messages.next().await, sender) {
            return reason;
        }
    }
}

/// Forwards one message of the connection; `Err` when the connection ended.
fn forward(
    message: Option<Result<AsyncMessage, tokio_postgres::Error>>,
    sender: &Fanout,
) -> Result<(), String> {
    match message {
        Some(Ok(AsyncMessage::Notification(notification))) => {
            match serde_json::from_str::<Event>(notification.payload()) {
                Ok(event) => sender.send(Delivery::Event(event)),
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
