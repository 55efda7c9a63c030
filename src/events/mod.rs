//! Live events across instances: a write announces what changed with
//! `pg_notify` inside its own transaction (so nothing is announced that did
//! not commit); each instance holds one listening connection and forwards
//! what it hears to its local subscribers through a bounded broadcast.
//!
//! Events carry ids only: subscribers load the rows fresh, with their own
//! permissions, when they deliver. Payloads stay far below PostgreSQL's
//! 8,000-byte limit (the longest is about 120 bytes).

pub mod hub;
pub mod listener;
pub mod publish;
pub mod routes;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use hub::{Delivery, EventHub};
pub use publish::publish;

/// The PostgreSQL channel every event travels on (the sessions trigger of
/// `migrations/*_notifications` uses it too).
pub const CHANNEL: &str = "growth_diary_events";

/// Something that changed, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum Event {
    /// A reply was added to a post.
    ReplyAdded { post: Uuid, reply: Uuid },
    /// A post changed: edited, published or unpublished, liked or unliked, a reply removed.
    PostChanged { post: Uuid },
    /// A post was published (created published, or a draft published).
    PostPublished { post: Uuid },
    /// A post was deleted.
    PostDeleted { post: Uuid },
    /// A user got a notification.
    NotificationAdded { user: Uuid, notification: Uuid },
    /// Some sessions of a user ended (announced by a trigger on `sessions`).
    SessionsEnded { user: Uuid },
}

impl Event {
    /// The post this event is about, if any.
    pub fn post(&self) -> Option<Uuid> {
        match *self {
            Self::ReplyAdded { post, .. }
            | Self::PostChanged { post }
            | Self::PostPublished { post }
            | Self::PostDeleted { post } => Some(post),
            Self::NotificationAdded { .. } | Self::SessionsEnded { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_small_json_with_ids_only() {
        let event = Event::NotificationAdded {
            user: Uuid::now_v7(),
            notification: Uuid::now_v7(),
        };
        let json = serde_json::to_string(&event).unwrap();
        assert!(json.len() < 200, "{json}");
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), event);
        // The shape the sessions trigger writes.
        let user = Uuid::now_v7();
        let from_trigger = format!(r#"{{"k" : "sessions_ended", "user" : "{user}"}}"#);
        assert_eq!(
            serde_json::from_str::<Event>(&from_trigger).unwrap(),
            Event::SessionsEnded { user }
        );
    }
}
