//! One WebSocket connection speaking `graphql-transport-ws`.
//!
//! Client messages are read and checked here; authentication happens at
//! `connection_init`. Subscriptions are kept and run by
//! [`Subscriptions`], one turn at a time.

use std::time::Duration;

use async_graphql::http::ClientMessage;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use tokio::sync::oneshot::error::TryRecvError;
use tokio::time::Instant;

use crate::accounts::{Actor, Viewer};
use crate::auth::session;
use crate::db::models::audit_event::Origin;
use crate::error::AppError;
use crate::graphql::admission;
use crate::http::AppState;
use crate::http::ws::capacity::Ticket;
use crate::http::ws::documents;
use crate::http::ws::message::{self, Outgoing};
use crate::http::ws::sockets::Registration;
use crate::http::ws::subscriber::Subscriber;
use crate::http::ws::subscriptions::{MAX_ID_BYTES, Subscriptions};

/// The only subprotocol spoken.
pub const SUBPROTOCOL: &str = "graphql-transport-ws";

/// The protocol's close codes, and the standard ones used here.
mod close {
    pub const GOING_AWAY: u16 = 1001;
    pub const POLICY: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
    pub const INTERNAL: u16 = 1011;
    pub const BAD_REQUEST: u16 = 4400;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const FORBIDDEN: u16 = 4403;
    pub const SUBPROTOCOL: u16 = 4406;
    pub const INIT_TIMEOUT: u16 = 4408;
    pub const DUPLICATE_ID: u16 = 4409;
    pub const TOO_MANY_INITS: u16 = 4429;
}

/// The longest a client may take to accept one message.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection about to start.
pub struct Connection {
    pub state: AppState,
    /// The session cookie, when the upgrade came from an allowed origin.
    pub cookie: Option<String>,
    pub origin: Origin,
}

/// Why a connection ends.
struct Close(u16, String);

impl Close {
    fn new(code: u16, reason: impl Into<String>) -> Self {
        Self(code, reason.into())
    }
}

impl Connection {
    /// Serves the socket until either side closes it, or the instance stops.
    /// The ticket (the socket's place) is given back only after the close
    /// frame went out: a stopping instance waits for that.
    pub async fn run(self, mut socket: WebSocket, mut ticket: Ticket) {
        let _open = crate::metrics::OpenSocket::opened();
        let mut stopping = ticket.stopping.clone();
        let outcome = if socket.protocol().is_none() {
            Err(Close::new(
                close::SUBPROTOCOL,
                "Subprotocol not acceptable: use graphql-transport-ws",
            ))
        } else {
            tokio::select! {
                outcome = self.serve(&mut socket, &mut ticket) => outcome,
                _ = stopping.wait_for(|stopping| *stopping) => Err(Close::new(
                    close::GOING_AWAY,
                    "the server is restarting; connect again",
                )),
            }
        };
        if let Err(Close(code, reason)) = outcome {
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            let _ =
                tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
        }
        drop(ticket);
    }

    async fn serve(self, socket: &mut WebSocket, ticket: &mut Ticket) -> Result<(), Close> {
        let live = &self.state.services.config.live;
        let init_timeout = Duration::from_secs(live.ws_init_timeout_secs);
        // The steps before the loop run once: boxed, their futures (the
        // session lookup's among them) are freed when they finish instead of
        // sizing the state every idle socket keeps for its whole life.
        let init = Box::pin(tokio::time::timeout(init_timeout, wait_for_init(socket)));
        let payload = match init.await {
            Ok(Ok(Some(payload))) => payload,
            Ok(Ok(None)) => return Ok(()),
            Ok(Err(close)) => return Err(close),
            Err(_) => {
                return Err(Close::new(
                    close::INIT_TIMEOUT,
                    "Connection initialisation timeout",
                ));
            }
        };
        let (viewer, mut registration) = Box::pin(self.authenticate(&payload)).await?;
        // Not kept for the socket's life.
        drop(payload);

        let subscriber = Subscriber {
            schema: self.state.schema.clone(),
            pool: self.state.services.pool.clone(),
            replicas: self.state.services.replicas.clone(),
            viewer,
            origin: self.origin.clone(),
            shared: self.state.ws.shared.clone(),
        };
        let anonymous = viewer.user_id().is_none();
        let mut subscriptions = Subscriptions::new(self.state.ws.hub.clone());
        send(socket, Message::Text(r#"{"type":"connection_ack"}"#.into())).await?;

        let max_subscriptions = usize::try_from(live.ws_max_subscriptions).unwrap_or(usize::MAX);
        let ping_every = Duration::from_secs(live.ws_ping_interval_secs);
        let mut pings = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
        let mut heard_at = Instant::now();
        loop {
            // Turns run one after another (each event's turns at once), so a
            // subscription's events go out in the order they were committed.
            // The futures of a turn are boxed: they live only while it runs,
            // and must not size what every idle socket keeps.
            let messages = tokio::select! {
                biased;
                // The session ended (sign-out, reset, expiry): no more events.
                // (Polled once at most: the connection closes when it fires.)
                _ = async {
                    match registration.as_mut() {
                        Some(registration) => (&mut registration.ended).await,
                        None => std::future::pending().await,
                    }
                } => {
                    return Err(Close::new(close::FORBIDDEN, "Forbidden: the session ended"));
                }
                frame = socket.recv() => {
                    heard_at = Instant::now();
                    let text = match frame {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Binary(_))) => {
                            return Err(Close::new(close::BAD_REQUEST, "Invalid message received: send text"));
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        Some(Ok(Message::Close(_))) | None => return Ok(()),
                        Some(Err(err)) => return Err(read_error(&err)),
                    };
                    match parse(text.as_str())? {
                        ClientMessage::ConnectionInit { .. } => {
                            return Err(Close::new(close::TOO_MANY_INITS, "Too many initialisation requests"));
                        }
                        ClientMessage::Start { id, mut payload } => {
                            if id.len() > MAX_ID_BYTES {
                                return Err(Close::new(close::BAD_REQUEST, format!("Invalid message received: an id may be at most {MAX_ID_BYTES} bytes")));
                            }
                            if subscriptions.contains(&id) {
                                // Close reasons are limited to 123 bytes.
                                return Err(Close::new(close::DUPLICATE_ID, truncate(&format!("Subscriber for {id} already exists"), 120)));
                            }
                            if subscriptions.len() >= max_subscriptions {
                                let err = AppError::bad_input(
                                    "subscribe",
                                    format!("a WebSocket may hold at most {max_subscriptions} subscriptions"),
                                );
                                send(socket, operation_error(&id, err)).await?;
                                continue;
                            }
                            let document_id = documents::subscribe_document_id(text.as_str());
                            let registration = match documents::resolve(&self.state.documents, &mut payload, document_id) {
                                Ok(registration) => registration,
                                Err(err) => {
                                    send(socket, operation_error(&id, err)).await?;
                                    continue;
                                }
                            };
                            if let Err(err) = admission::check(&mut payload) {
                                send(socket, operation_error(&id, err)).await?;
                                continue;
                            }
                            // Boxed: pricing is a whole GraphQL execution, whose
                            // state must not size what every idle socket keeps.
                            if let Err(err) = Box::pin(self.state.ws.pricer.check_subscription(&mut payload)).await {
                                send(socket, operation_error(&id, err)).await?;
                                continue;
                            }
                            // An anonymous subscription takes its place in its
                            // address's share before it runs.
                            if anonymous && let Err(refused) = ticket.hold_anonymous(subscriptions.len() + 1) {
                                let err = AppError::RateLimited {
                                    message: refused.to_string().into(),
                                    retry_after_secs: crate::error::RETRY_AFTER_SECS,
                                    limit: u32::try_from(refused.0).ok(),
                                    resets_at: None,
                                };
                                send(socket, operation_error(&id, err)).await?;
                                continue;
                            }
                            match Box::pin(subscriptions.subscribe(&subscriber, id.clone(), payload)).await {
                                Ok(messages) => {
                                    // Running, so its document parsed and validated.
                                    if subscriptions.contains(&id) && let Some(registration) = registration {
                                        self.state.documents.register(registration);
                                    }
                                    messages
                                }
                                Err(err) => vec![Outgoing::Text(message::error(&id, err))],
                            }
                        }
                        ClientMessage::Stop { id } => {
                            subscriptions.stop(&id);
                            if anonymous {
                                let _ = ticket.hold_anonymous(subscriptions.len());
                            }
                            continue;
                        }
                        ClientMessage::Ping { .. } => vec![Outgoing::Text(r#"{"type":"pong"}"#.to_owned())],
                        ClientMessage::Pong { .. } => continue,
                        ClientMessage::ConnectionTerminate => return Ok(()),
                    }
                }
                due = subscriptions.next_turn() => {
                    Box::pin(subscriptions.deliver(&subscriber, due)).await
                }
                _ = pings.tick() => {
                    if heard_at.elapsed() > ping_every * 2 {
                        return Err(Close::new(close::GOING_AWAY, "no answer to pings"));
                    }
                    send(socket, Message::Ping(Default::default())).await?;
                    continue;
                }
            };
            // The turn ran without watching the session: one that ended
            // meanwhile gets nothing more.
            if let Some(registration) = registration.as_mut()
                && !matches!(registration.ended.try_recv(), Err(TryRecvError::Empty))
            {
                return Err(Close::new(close::FORBIDDEN, "Forbidden: the session ended"));
            }
            if anonymous {
                // Fewer subscriptions (or as many) always fit.
                let _ = ticket.hold_anonymous(subscriptions.len());
            }
            // Written one at a time: a payload many subscriptions share is
            // not copied for all of them at once.
            for message in messages {
                send(socket, Message::Text(message.into_text().into())).await?;
            }
        }
    }

    /// The viewer of this connection: the token in `connection_init`'s
    /// payload (`{"authorization": "Bearer <token>"}`), else the cookie of the
    /// upgrade. A token that is not a live session refuses the connection.
    async fn authenticate(
        &self,
        payload: &serde_json::Value,
    ) -> Result<(Viewer, Option<Registration>), Close> {
        let from_payload = payload
            .get("authorization")
            .or_else(|| payload.get("Authorization"))
            .map(|value| {
                value
                    .as_str()
                    .and_then(|value| value.split_once(' '))
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                    .map(|(_, token)| token.trim().to_owned())
                    .ok_or_else(|| {
                        Close::new(
                            close::FORBIDDEN,
                            "Forbidden: authorization must be \"Bearer <token>\"",
                        )
                    })
            })
            .transpose()?;
        let Some(token) = from_payload.or_else(|| self.cookie.clone()) else {
            return Ok((Viewer::default(), None));
        };
        let internal = |err: &dyn std::fmt::Display| {
            tracing::error!(error = %err, "cannot look up a WebSocket's session");
            Close::new(close::INTERNAL, "Internal server error")
        };
        let mut conn = self
            .state
            .services
            .pool
            .get()
            .await
            .map_err(|err| internal(&err))?;
        let found = session::resolve(&mut conn, &token)
            .await
            .map_err(|err| internal(&err.message()))?;
        let Some(found) = found else {
            return Err(Close::new(
                close::FORBIDDEN,
                "Forbidden: the session is not valid",
            ));
        };
        let registration = self
            .state
            .ws
            .sockets
            .register(found.user_id, found.id)
            .map_err(|err| Close::new(close::POLICY, err.to_string()))?;
        let viewer = Viewer::signed_in(Actor {
            user_id: found.user_id,
            session_id: found.id,
        });
        Ok((viewer, Some(registration)))
    }
}

/// Reads until `connection_init` and returns its payload; `None` when the
/// client went away first. Pings before it are answered (the protocol
/// allows them at any time).
async fn wait_for_init(socket: &mut WebSocket) -> Result<Option<serde_json::Value>, Close> {
    loop {
        let text = match socket.recv().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Binary(_))) => {
                return Err(Close::new(
                    close::BAD_REQUEST,
                    "Invalid message received: send text",
                ));
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None => return Ok(None),
            Some(Err(err)) => return Err(read_error(&err)),
        };
        match parse(text.as_str())? {
            ClientMessage::ConnectionInit { payload } => {
                return Ok(Some(payload.unwrap_or(serde_json::Value::Null)));
            }
            ClientMessage::Ping { .. } => {
                send(socket, Message::Text(r#"{"type":"pong"}"#.into())).await?;
            }
            ClientMessage::Pong { .. } => {}
            ClientMessage::Start { .. } => {
                return Err(Close::new(close::UNAUTHORIZED, "Unauthorized"));
            }
            ClientMessage::Stop { .. } | ClientMessage::ConnectionTerminate => {
                return Err(Close::new(close::UNAUTHORIZED, "Unauthorized"));
            }
        }
    }
}

fn parse(text: &str) -> Result<ClientMessage, Close> {
    serde_json::from_str(text).map_err(|err| {
        Close::new(
            close::BAD_REQUEST,
            // Close reasons are limited to 123 bytes.
            truncate(&format!("Invalid message received: {err}"), 120),
        )
    })
}

fn truncate(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

fn read_error(err: &axum::Error) -> Close {
    let text = err.to_string();
    if text.contains("too long") || text.contains("too big") || text.contains("Space limit") {
        Close::new(close::TOO_BIG, "Message too big")
    } else {
        Close::new(
            close::BAD_REQUEST,
            truncate(&format!("Invalid frame: {text}"), 120),
        )
    }
}

async fn send(socket: &mut WebSocket, message: Message) -> Result<(), Close> {
    // A failed send means the client is gone; one that takes no message for
    // this long holds the connection's task (and its events) hostage.
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) | Err(_) => Err(Close::new(close::GOING_AWAY, "the client does not read")),
    }
}

/// An `error` message: the operation `id` failed before it started.
fn operation_error(id: &str, err: impl Into<async_graphql::Error>) -> Message {
    Message::Text(message::error(id, err).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future `f` returns, from its type alone.
    fn future_size<A, B, C, F: Future>(_: impl FnOnce(A, B, C) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    fn future_size_2<A, B, F: Future>(_: impl FnOnce(A, B) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// The most an idle socket's state may take (2,960 bytes in a debug
    /// build, less optimised than a release one).
    const IDLE_STATE: usize = 4 * 1024;

    #[test]
    fn an_idle_socket_keeps_a_small_state() {
        // Every open socket keeps this future for its whole life, sized by
        // the largest state any of its awaits needs: the one-off steps
        // (init, authentication, pricing, a turn) are boxed so that they do
        // not size it.
        let size = future_size(Connection::serve);
        assert!(size <= IDLE_STATE, "{size} bytes");
        // Pricing is a whole GraphQL execution: awaited in place, its state
        // would be part of this one, which would then be larger than it.
        let pricing = future_size_2(crate::graphql::pricing::Pricer::check_subscription);
        assert!(size < pricing, "{size} bytes, pricing {pricing}");
    }
}
