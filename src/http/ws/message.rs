//! The server's messages about an operation: `next`, `complete`, `error`.

use std::sync::Arc;

use async_graphql::{Response, ServerError};
use serde::Serialize;
use serde_json::json;

use crate::error::AppError;

/// The most bytes of a `next` message's payload. The WebSocket keeps a write
/// buffer as large as the largest message it ever sent, for the socket's
/// life: this bounds it. A post's longest text in any script fits.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// A message to send, written out only when it is its turn to go: a payload
/// many subscriptions share is not copied for each of them ahead of time.
pub enum Outgoing {
    /// A `next` message for operation `id`, from a payload in JSON.
    Next { id: Box<str>, payload: Arc<str> },
    /// Any other message, written.
    Text(String),
}

impl Outgoing {
    /// The message's text.
    pub fn into_text(self) -> String {
        match self {
            Self::Next { id, payload } => {
                // Serialising a string cannot fail.
                let id = serde_json::to_string(&*id).unwrap_or_default();
                format!(r#"{{"type":"next","id":{id},"payload":{payload}}}"#)
            }
            Self::Text(text) => text,
        }
    }
}

/// `response` in JSON, as the payload of `next` messages; an error in its
/// place when it is larger than [`MAX_PAYLOAD_BYTES`].
pub fn payload(response: &Response) -> Option<Arc<str>> {
    let json = serde_json::to_string(response)
        .inspect_err(|err| tracing::error!(error = %err, "cannot write a subscription's response"))
        .ok()?;
    if json.len() <= MAX_PAYLOAD_BYTES {
        return Some(json.into());
    }
    let error: async_graphql::Error = AppError::bad_input(
        "subscribe",
        format!(
            "this event's result is {} bytes; a WebSocket message may carry at most {} KiB (select fewer long texts)",
            json.len(),
            MAX_PAYLOAD_BYTES / 1024
        ),
    )
    .into();
    let mut item = ServerError::new(error.message, None);
    item.extensions = error.extensions;
    serde_json::to_string(&Response::from_errors(vec![item]))
        .ok()
        .map(Arc::from)
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Out<'a> {
    Complete { id: &'a str },
}

/// A `complete` message: operation `id` is over.
pub fn complete(id: &str) -> String {
    // Serialising two strings cannot fail.
    serde_json::to_string(&Out::Complete { id }).unwrap_or_default()
}

/// An `error` message: the operation `id` failed before it started.
pub fn error(id: &str, err: impl Into<async_graphql::Error>) -> String {
    let error: async_graphql::Error = err.into();
    let extensions = error
        .extensions
        .map(|ext| serde_json::to_value(ext).unwrap_or_default());
    let mut payload = json!({ "message": error.message });
    if let Some(extensions) = extensions {
        payload["extensions"] = extensions;
    }
    json!({ "id": id, "type": "error", "payload": [payload] }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_and_complete_messages_follow_the_protocol() {
        let response = Response::new(async_graphql::Value::Null);
        let next = Outgoing::Next {
            id: "a\"b".into(),
            payload: payload(&response).unwrap(),
        };
        let next: serde_json::Value = serde_json::from_str(&next.into_text()).unwrap();
        assert_eq!(next["type"], "next");
        assert_eq!(next["id"], "a\"b");
        assert!(next["payload"].get("data").is_some(), "{next}");
        let complete: serde_json::Value = serde_json::from_str(&complete("a")).unwrap();
        assert_eq!(
            complete,
            serde_json::json!({ "type": "complete", "id": "a" })
        );
    }

    #[test]
    fn a_payload_over_the_limit_becomes_an_error() {
        let big = async_graphql::Value::String("x".repeat(MAX_PAYLOAD_BYTES));
        let payload = payload(&Response::new(big)).unwrap();
        let payload: serde_json::Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(payload["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        assert!(
            payload.get("data").is_none_or(|data| data.is_null()),
            "{payload}"
        );
    }
}
