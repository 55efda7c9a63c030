//! GraphQL subscriptions over WebSocket: the `graphql-transport-ws` protocol
//! on `GET /graphql` (the upgrade).
//!
//! async-graphql executes each subscription's document (see
//! `subscriptions` for when); this module speaks the protocol with what a
//! public server needs: the protocol's close codes
//! (4400 bad message, 4401 subscribe before ack, 4403 refused init, 4408
//! init timeout, 4409 duplicate id, 4429 second init), server pings,
//! message size, subscriptions per socket, sockets per user, anonymous
//! subscriptions per address, the request admission rules of HTTP, a price
//! ceiling on each subscription's selection, and closing sockets whose
//! session ended.

mod bound;
mod capacity;
mod connection;
mod documents;
mod message;
mod shared;
pub mod sockets;
mod subscriber;
mod subscriptions;

use std::sync::Arc;

use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::IntoResponse;

use crate::auth::client;
use crate::error::codes;
use crate::http::AppState;
use crate::http::graphql;

pub use bound::socket_memory_bound;
pub use capacity::Capacity;
pub use connection::SUBPROTOCOL;
pub use message::MAX_PAYLOAD_BYTES;
pub use shared::SharedRuns;
pub use sockets::Sockets;
pub use subscriptions::{MAX_ID_BYTES, MAX_KEPT_TEXT};

/// What WebSocket connections share on an instance.
#[derive(Clone)]
pub struct WsState {
    /// Signed-in sockets, by user.
    pub sockets: Arc<Sockets>,
    /// The instance's event broadcast.
    pub hub: Arc<crate::events::EventHub>,
    /// Open sockets, by address, and the signal to close them.
    pub capacity: Arc<Capacity>,
    /// Prices subscriptions when they start.
    pub pricer: Arc<crate::graphql::pricing::Pricer>,
    /// Runs for events, shared by identical subscriptions.
    pub shared: Arc<SharedRuns>,
}

/// GET /graphql: a WebSocket upgrade starts a subscription connection;
/// anything else is GraphQL over HTTP (or GraphiQL).
pub async fn get(
    State(state): State<AppState>,
    peer: ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> axum::response::Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) if headers.contains_key(header::UPGRADE) => {
            return rejection.into_response();
        }
        Err(_) => return graphql::get(State(state), peer, headers, uri).await,
    };
    let config = &state.services.config;
    let limit = usize::try_from(config.live.ws_max_message_bytes).unwrap_or(usize::MAX);
    // Browsers send cookies on cross-site upgrades and WebSockets have no
    // CORS: the cookie counts only from an allowed origin (or from a
    // non-browser client, which sends no Origin).
    let cookie = origin_allowed(&headers, &config.allowed_origins())
        .then(|| state.services.cookies.read(&headers).map(str::to_owned))
        .flatten();
    let origin = client::origin(&headers, Some(peer.0), config.trust_proxy);
    let ticket = match state.ws.capacity.admit(origin.ip) {
        Ok(ticket) => ticket,
        Err(refused) => return refusal(&refused),
    };
    let connection = connection::Connection {
        state: state.clone(),
        cookie,
        origin,
    };
    // The socket's log lines keep the upgrade request's span (and its id).
    let span = tracing::Span::current();
    upgrade
        .protocols([SUBPROTOCOL])
        // tungstenite's read buffer is kept for the socket's life: its
        // default (128 KiB) would cost over a GiB at 10,000 idle sockets.
        // Client messages are small (a subscribe, a ping); a larger one is
        // read in more chunks, the buffer growing to hold it.
        .read_buffer_size(1024)
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| {
            tracing::Instrument::instrument(connection.run(socket, ticket), span)
        })
}

/// An upgrade refused for want of room: 429 for an address over its share,
/// else 503; both say when to try again.
fn refusal(refused: &capacity::Refused) -> axum::response::Response {
    let (status, code) = match refused {
        capacity::Refused::Address(_) => (StatusCode::TOO_MANY_REQUESTS, codes::RATE_LIMITED),
        capacity::Refused::Full(_) | capacity::Refused::Stopping => {
            (StatusCode::SERVICE_UNAVAILABLE, codes::SERVICE_UNAVAILABLE)
        }
    };
    let body = serde_json::json!({
        "errors": [{ "message": refused.to_string(), "extensions": { "code": code } }]
    });
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(crate::error::RETRY_AFTER_SECS),
    );
    response
}

/// True when the request carries no `Origin` or one of `allowed`.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    match headers.get(header::ORIGIN) {
        None => true,
        Some(origin) => origin
            .to_str()
            .is_ok_and(|origin| allowed.iter().any(|allowed| allowed == origin)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_count_only_from_allowed_origins() {
        let allowed = vec!["https://app.example.com".to_string()];
        let mut headers = HeaderMap::new();
        assert!(origin_allowed(&headers, &allowed));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://app.example.com"),
        );
        assert!(origin_allowed(&headers, &allowed));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!origin_allowed(&headers, &allowed));
    }
}
