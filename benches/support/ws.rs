//! `graphql-transport-ws` sockets for the benchmarks, optionally opened from
//! a chosen loopback address (127.0.0.0/8 is all local on Linux), so one
//! client can stand for several addresses where the per-address limits
//! would refuse it.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error, Message};

type Stream = WebSocketStream<TcpStream>;

/// An initialised socket (the server acknowledged `connection_init`).
pub struct Socket {
    pub sink: SplitSink<Stream, Message>,
    pub stream: SplitStream<Stream>,
}

/// Why a socket did not open.
#[derive(Debug)]
pub enum Refused {
    /// The upgrade got this HTTP status (429: the address's limit).
    Status(u16),
    Other(String),
}

impl Socket {
    /// Opens a socket to `url` (`ws://127.0.0.1:PORT/graphql`) from `from`
    /// (any local port), initialised as `token`'s user, or anonymous.
    pub async fn open(url: &str, from: IpAddr, token: Option<&str>) -> Result<Self, Refused> {
        let mut request = url
            .into_client_request()
            .map_err(|err| Refused::Other(err.to_string()))?;
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let host = request.uri().host().unwrap_or("127.0.0.1").to_string();
        let port = request.uri().port_u16().unwrap_or(80);
        let server: SocketAddr = format!("{host}:{port}")
            .parse()
            .map_err(|_| Refused::Other(format!("not an IP address: {host}")))?;
        let tcp = TcpSocket::new_v4().map_err(|err| Refused::Other(err.to_string()))?;
        tcp.bind(SocketAddr::new(from, 0))
            .map_err(|err| Refused::Other(format!("bind {from}: {err}")))?;
        let tcp = tcp
            .connect(server)
            .await
            .map_err(|err| Refused::Other(err.to_string()))?;
        let (socket, _) = tokio_tungstenite::client_async(request, tcp)
            .await
            .map_err(|err| match err {
                Error::Http(response) => Refused::Status(response.status().as_u16()),
                other => Refused::Other(other.to_string()),
            })?;
        let (sink, stream) = socket.split();
        let mut socket = Self { sink, stream };
        let payload = match token {
            Some(token) => json!({ "authorization": format!("Bearer {token}") }),
            None => json!({}),
        };
        socket
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        match socket.next().await {
            Some(ack) if ack["type"] == "connection_ack" => Ok(socket),
            other => Err(Refused::Other(format!("no ack: {other:?}"))),
        }
    }

    /// Sends one message.
    pub async fn send(&mut self, message: Value) {
        self.send_text(message.to_string()).await;
    }

    /// Sends one text frame as it is.
    pub async fn send_text(&mut self, text: String) {
        self.sink
            .send(Message::text(text))
            .await
            .expect("the server takes the message");
    }

    /// Subscribes operation `id` to `query` with `variables`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe",
                          "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next text message; `None` once the socket closed.
    pub async fn next(&mut self) -> Option<Value> {
        self.next_timed().await.map(|(message, _)| message)
    }

    /// The next text message and when it arrived.
    pub async fn next_timed(&mut self) -> Option<(Value, Instant)> {
        while let Some(Ok(frame)) = self.stream.next().await {
            if let Message::Text(text) = frame {
                let arrived = Instant::now();
                return serde_json::from_str(text.as_str())
                    .ok()
                    .map(|message| (message, arrived));
            }
        }
        None
    }

    /// Sends a ping and waits for the pong: every message sent before it
    /// was handled. Other messages met on the way are returned.
    pub async fn settled(&mut self) -> Vec<Value> {
        self.send(json!({ "type": "ping" })).await;
        let mut others = Vec::new();
        while let Some(message) = self.next().await {
            if message["type"] == "pong" {
                return others;
            }
            others.push(message);
        }
        panic!("the socket closed before its pong; before it: {others:?}");
    }

    /// Closes the socket.
    pub async fn close(mut self) {
        let _ = self.sink.send(Message::Close(None)).await;
        let _ = self.sink.close().await;
    }

    /// Reads the socket from now on in a task of its own (which also answers
    /// the server's pings: a socket nobody reads is dropped after two
    /// unanswered ones), forwarding each text message with its arrival time.
    pub fn reading(self) -> Reading {
        let (tx, received) = mpsc::unbounded_channel();
        let mut stream = self.stream;
        let reader = tokio::spawn(async move {
            while let Some(Ok(frame)) = stream.next().await {
                if let Message::Text(text) = frame {
                    let arrived = Instant::now();
                    if let Ok(message) = serde_json::from_str(text.as_str())
                        && tx.send((message, arrived)).is_err()
                    {
                        return;
                    }
                }
            }
        });
        Reading {
            sink: self.sink,
            received,
            reader,
        }
    }
}

/// A socket read by a task of its own ([`Socket::reading`]).
pub struct Reading {
    pub sink: SplitSink<Stream, Message>,
    /// Text messages with their arrival times.
    pub received: mpsc::UnboundedReceiver<(Value, Instant)>,
    reader: tokio::task::JoinHandle<()>,
}

impl Reading {
    /// Closes the socket.
    pub async fn close(mut self) {
        let _ = self.sink.send(Message::Close(None)).await;
        let _ = self.sink.close().await;
        self.reader.abort();
    }
}
