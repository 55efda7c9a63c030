//! A `graphql-transport-ws` client for the tests, on tokio-tungstenite.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::TestServer;

/// How long a test waits for something the server should send. Generous:
/// the machine is shared; the benchmark measures the real delay.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// One client socket.
pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What the server did next.
#[derive(Debug)]
pub enum Received {
    Message(Value),
    Closed(u16, String),
}

impl WsClient {
    /// Opens a socket with `headers` on the upgrade (no `connection_init` yet).
    pub async fn open(server: &TestServer, headers: &[(&str, &str)]) -> Self {
        Self::open_url(&server.url("/graphql"), headers).await
    }

    /// Opens a socket to the GraphQL endpoint at `http_url` (`http://…/graphql`).
    pub async fn open_url(http_url: &str, headers: &[(&str, &str)]) -> Self {
        let url = http_url.replacen("http://", "ws://", 1);
        let mut request = url.into_client_request().expect("a WebSocket request");
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        for (name, value) in headers {
            request.headers_mut().insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                    .expect("a header name"),
                HeaderValue::from_str(value).expect("a header value"),
            );
        }
        let (socket, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("the WebSocket upgrade succeeds");
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            "graphql-transport-ws"
        );
        Self { socket }
    }

    /// The HTTP status and `Retry-After` of an upgrade the server refuses.
    pub async fn refused(server: &TestServer) -> (u16, Option<String>) {
        let url = server.url("/graphql").replacen("http://", "ws://", 1);
        let mut request = url.into_client_request().expect("a WebSocket request");
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        match tokio_tungstenite::connect_async(request).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => (
                response.status().as_u16(),
                response
                    .headers()
                    .get("retry-after")
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned),
            ),
            Err(other) => panic!("expected an HTTP refusal, got {other}"),
            Ok(_) => panic!("expected the upgrade to be refused"),
        }
    }

    /// Opens a socket and initialises it, with a bearer token when given.
    pub async fn connect(server: &TestServer, token: Option<&str>) -> Self {
        Self::connect_url(&server.url("/graphql"), token).await
    }

    /// [`Self::connect`] to the GraphQL endpoint at `http_url`.
    pub async fn connect_url(http_url: &str, token: Option<&str>) -> Self {
        let mut client = Self::open_url(http_url, &[]).await;
        let payload = match token {
            Some(token) => json!({ "authorization": format!("Bearer {token}") }),
            None => json!({}),
        };
        client
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        match client.next().await {
            Received::Message(message) if message["type"] == "connection_ack" => client,
            other => panic!("expected connection_ack, got {other:?}"),
        }
    }

    /// Sends one JSON message.
    pub async fn send(&mut self, message: Value) {
        self.send_text(&message.to_string()).await;
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::text(text))
            .await
            .expect("the socket takes a message");
    }

    /// Starts operation `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next text message or the close, within [`DEADLINE`].
    pub async fn next(&mut self) -> Received {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .expect("the server sends something before the deadline");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return Received::Message(serde_json::from_str(&text).expect("JSON"));
                }
                Some(Ok(Message::Close(frame))) => {
                    return match frame {
                        Some(frame) => {
                            Received::Closed(frame.code.into(), frame.reason.to_string())
                        }
                        None => Received::Closed(1005, String::new()),
                    };
                }
                Some(Ok(_)) => continue,
                Some(Err(err)) => return Received::Closed(1006, err.to_string()),
                None => return Received::Closed(1006, "the stream ended".into()),
            }
        }
    }

    /// The next message, which must be for operation `id`.
    pub async fn next_for(&mut self, id: &str) -> Value {
        match self.next().await {
            Received::Message(message) if message["id"] == id => message,
            other => panic!("expected a message for {id}, got {other:?}"),
        }
    }

    /// The close code and reason, skipping messages before it.
    pub async fn closed(&mut self) -> (u16, String) {
        loop {
            if let Received::Closed(code, reason) = self.next().await {
                return (code, reason);
            }
        }
    }
}

/// Waits until at least `n` subscriptions listen on the server, so events
/// committed afterwards reach them.
pub async fn wait_for_subscribers(server: &TestServer, n: usize) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while server.ws.hub.routed() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {n} subscribers after the deadline",
            server.ws.hub.routed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
