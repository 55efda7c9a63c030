//! A socket's subscriptions, and running them.
//!
//! Between events a subscription is only its text and the events it wants
//! (a few hundred bytes): nothing of it is parsed, planned or suspended. The
//! socket holds an inbox of the instance's events while it has any
//! subscription, registered under its subscriptions' topics; each event some
//! subscription wants runs that subscription's document (see
//! `graphql::subscription` for what its fields do in each turn), once for
//! all identical subscriptions of the instance (`shared`), and the
//! responses go out as `next` messages.

use std::sync::Arc;

use async_graphql::{Request, Variables};
use sha2::{Digest as _, Sha256};

use crate::db::replicas::Lsn;
use crate::error::AppError;
use crate::events::routes::{Inbox, Received};
use crate::events::{Delivery, EventHub};
use crate::graphql::subscription::{Interest, Report, Turn};
use crate::http::ws::message::{self, Outgoing};
use crate::http::ws::shared::Digest;
use crate::http::ws::subscriber::Subscriber;

/// The most text one socket's subscriptions keep together: their ids,
/// operation names, documents and variables (about 50 ordinary
/// subscriptions). Every event a subscription wants reads its text again,
/// and the socket holds it for its whole life.
pub const MAX_KEPT_TEXT: usize = 16 * 1024;
/// The longest subscription id, in bytes.
pub const MAX_ID_BYTES: usize = 128;

/// A turn some subscription of the socket wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub turn: Turn,
    /// The event's dispatch number on this instance (none for missed events).
    pub dispatch: Option<u64>,
    /// The primary's WAL position once the event's write committed (see
    /// `events::listener`); none: its deliveries read from the primary.
    pub written: Option<Lsn>,
}

/// One subscription between events.
struct Subscription {
    id: Box<str>,
    query: Box<str>,
    operation_name: Option<Box<str>>,
    /// As JSON: parsed variables are a tree of nodes many times larger.
    variables: Box<str>,
    interest: Interest,
    /// Of the text: identical subscriptions share their runs.
    digest: Digest,
}

impl Subscription {
    fn request(&self) -> Request {
        // Written by `serde_json::to_string` of the same type when subscribing.
        let variables: Variables = serde_json::from_str(&self.variables).unwrap_or_else(|err| {
            tracing::error!(error = %err, "a stored subscription's variables do not read back");
            Variables::default()
        });
        let mut request = Request::new(self.query.to_string()).variables(variables);
        if let Some(name) = &self.operation_name {
            request = request.operation_name(name.to_string());
        }
        request
    }

    /// The bytes of text it keeps.
    fn kept(&self) -> usize {
        self.id.len()
            + self.query.len()
            + self.operation_name.as_deref().map_or(0, str::len)
            + self.variables.len()
    }

    fn wants(&self, turn: &Turn) -> bool {
        match turn {
            Turn::Event(event) => self.interest.wants(event),
            Turn::Subscribe => false,
            // Every subscription may have missed something.
            Turn::Missed(_) | Turn::Resumed => true,
        }
    }
}

/// The subscriptions of one socket.
pub struct Subscriptions {
    hub: Arc<EventHub>,
    /// Held while there is any subscription.
    inbox: Option<Inbox>,
    list: Vec<Subscription>,
    counted: crate::metrics::SocketSubscriptions,
}

impl Subscriptions {
    pub fn new(hub: Arc<EventHub>) -> Self {
        Self {
            hub,
            inbox: None,
            list: Vec::new(),
            counted: crate::metrics::SocketSubscriptions::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.list.iter().any(|subscription| &*subscription.id == id)
    }

    /// Starts subscription `id`: checks it by running its subscribe turn, and
    /// keeps it if its field listens to something. The messages to send; an
    /// error when the socket cannot keep it (an `error` message).
    pub async fn subscribe(
        &mut self,
        subscriber: &Subscriber,
        id: String,
        request: Request,
    ) -> Result<Vec<Outgoing>, AppError> {
        let variables = serde_json::to_string(&request.variables)
            .map_err(|err| AppError::internal("storing a subscription's variables", err))?;
        let operation_name = request.operation_name.as_deref().map(Box::from);
        let subscription = Subscription {
            id: id.into(),
            query: request.query.as_str().into(),
            operation_name,
            variables: variables.into(),
            // Listens to nothing until its subscribe turn names what.
            interest: Interest::Published,
            digest: [0; 32],
        };
        let kept = self.kept() + subscription.kept();
        if kept > MAX_KEPT_TEXT {
            return Err(AppError::bad_input(
                "subscribe",
                format!(
                    "the subscriptions of one WebSocket may keep at most {} KiB of ids, operation names, documents and variables together; this one would make {kept} bytes",
                    MAX_KEPT_TEXT / 1024
                ),
            ));
        }
        // The field registers its topic before it checks anything: an event
        // committed during the check is not missed.
        let hub = &self.hub;
        let registrar = self.inbox.get_or_insert_with(|| hub.inbox()).registrar();
        let (responses, report) = subscriber
            .run(request, Turn::Subscribe, Report::registering(registrar))
            .await;
        let interests = report.interests();
        if interests.len() > 1 {
            self.forget(&interests);
            self.changed();
            return Err(AppError::bad_input(
                "subscribe",
                "a subscription selects exactly one field at its root",
            ));
        }
        let mut messages: Vec<Outgoing> = responses
            .iter()
            .filter_map(message::payload)
            .map(|payload| Outgoing::Next {
                id: subscription.id.clone(),
                payload,
            })
            .collect();
        let failed = responses.iter().any(|response| response.is_err());
        match interests.first() {
            Some(&interest) if !failed => self.list.push(Subscription {
                interest,
                digest: digest(&subscription),
                ..subscription
            }),
            _ => {
                self.forget(&interests);
                messages.push(Outgoing::Text(message::complete(&subscription.id)));
            }
        }
        self.changed();
        Ok(messages)
    }

    /// The bytes of text the socket keeps.
    fn kept(&self) -> usize {
        self.list.iter().map(Subscription::kept).sum()
    }

    /// Ends subscription `id` at the client's request (no `complete` is sent back).
    pub fn stop(&mut self, id: &str) {
        if let Some(at) = self
            .list
            .iter()
            .position(|subscription| &*subscription.id == id)
        {
            self.remove(at);
        }
        self.changed();
    }

    fn remove(&mut self, at: usize) {
        let subscription = self.list.remove(at);
        self.forget(&[subscription.interest]);
    }

    /// Stops listening to the topics of `interests`.
    fn forget(&mut self, interests: &[Interest]) {
        if let Some(inbox) = self.inbox.as_mut() {
            for interest in interests {
                inbox.unlisten(interest.topic());
            }
        }
    }

    /// The next turn some subscription wants; pending while there is no
    /// subscription.
    pub async fn next_turn(&self) -> Due {
        let Some(inbox) = self.inbox.as_ref() else {
            return std::future::pending().await;
        };
        loop {
            let due = match inbox.next().await {
                Received::Delivery(number, Delivery::Event(event, written)) => Due {
                    turn: Turn::Event(event),
                    dispatch: Some(number),
                    written,
                },
                Received::Delivery(number, Delivery::Resumed) => Due {
                    turn: Turn::Resumed,
                    dispatch: Some(number),
                    written: None,
                },
                Received::Missed(missed) => Due {
                    turn: Turn::Missed(missed),
                    dispatch: None,
                    written: None,
                },
            };
            if self
                .list
                .iter()
                .any(|subscription| subscription.wants(&due.turn))
            {
                return due;
            }
        }
    }

    /// Runs every subscription that wants the turn (at once, answers in
    /// order); the messages to send.
    pub async fn deliver(&mut self, subscriber: &Subscriber, due: Due) -> Vec<Outgoing> {
        let runs = self
            .list
            .iter()
            .filter(|subscription| subscription.wants(&due.turn))
            .map(|subscription| async move {
                let outcome = subscriber
                    .outcome(subscription.digest, || subscription.request(), due)
                    .await;
                (subscription.id.clone(), outcome)
            });
        let outcomes = futures_util::future::join_all(runs).await;
        let mut messages = Vec::new();
        for (id, outcome) in outcomes {
            messages.extend(outcome.payloads.iter().map(|payload| Outgoing::Next {
                id: id.clone(),
                payload: payload.clone(),
            }));
            if outcome.ended {
                messages.push(Outgoing::Text(message::complete(&id)));
                if let Some(at) = self
                    .list
                    .iter()
                    .position(|subscription| subscription.id == id)
                {
                    self.remove(at);
                }
            }
        }
        self.changed();
        messages
    }

    fn changed(&mut self) {
        let running = self.list.len();
        if running == 0 {
            self.inbox = None;
        }
        self.counted.set(running);
    }
}

/// The digest of a subscription's text: identical texts, identical digests.
fn digest(subscription: &Subscription) -> Digest {
    let mut hash = Sha256::new();
    // Each part with its length first, so no two splits of one text collide.
    let parts = [
        Some(&*subscription.query),
        subscription.operation_name.as_deref(),
        Some(&*subscription.variables),
    ];
    for part in parts {
        match part {
            Some(text) => {
                hash.update((text.len() as u64).to_le_bytes());
                hash.update(text.as_bytes());
            }
            None => hash.update(u64::MAX.to_le_bytes()),
        }
    }
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::events::Event;
    use crate::events::routes::Topic;

    fn watching(post: Uuid) -> Subscription {
        Subscription {
            id: "1".into(),
            query: "subscription($p: ID!) { postUpdated(postId: $p) { id } }".into(),
            operation_name: None,
            variables: format!(r#"{{"p":"{post}"}}"#).into(),
            interest: Interest::Post(post),
            digest: [0; 32],
        }
    }

    #[tokio::test]
    async fn a_socket_wakes_only_for_events_its_subscriptions_want() {
        let hub = EventHub::detached(8);
        let mut subscriptions = Subscriptions::new(hub.clone());
        let (watched, other) = (Uuid::now_v7(), Uuid::now_v7());
        let mut inbox = hub.inbox();
        inbox.listen(Topic::Post(watched));
        subscriptions.inbox = Some(inbox);
        subscriptions.list.push(watching(watched));
        hub.send(Delivery::Event(Event::PostChanged { post: other }, None));
        hub.send(Delivery::Event(
            Event::PostPublished { post: watched },
            None,
        ));
        let written = Some(Lsn(42));
        hub.send(Delivery::Event(
            Event::PostChanged { post: watched },
            written,
        ));
        hub.send(Delivery::Resumed);
        assert_eq!(
            subscriptions.next_turn().await,
            Due {
                turn: Turn::Event(Event::PostChanged { post: watched }),
                dispatch: Some(2),
                written,
            },
            "the event's write position comes with it"
        );
        assert_eq!(subscriptions.next_turn().await.turn, Turn::Resumed);
    }

    #[tokio::test]
    async fn a_socket_that_fell_behind_tells_every_subscription() {
        let hub = EventHub::detached(2);
        let mut subscriptions = Subscriptions::new(hub.clone());
        let post = Uuid::now_v7();
        let mut inbox = hub.inbox();
        inbox.listen(Topic::Post(post));
        subscriptions.inbox = Some(inbox);
        subscriptions.list.push(watching(post));
        for _ in 0..5 {
            hub.send(Delivery::Event(Event::PostChanged { post }, None));
        }
        assert_eq!(
            subscriptions.next_turn().await,
            Due {
                turn: Turn::Missed(3),
                dispatch: None,
                written: None,
            }
        );
        assert!(subscriptions.list[0].wants(&Turn::Missed(3)));
        // Then the two events still held.
        for _ in 0..2 {
            assert_eq!(
                subscriptions.next_turn().await.turn,
                Turn::Event(Event::PostChanged { post })
            );
        }
    }

    #[test]
    fn stored_variables_read_back_into_the_request() {
        let post = Uuid::now_v7();
        let request = watching(post).request();
        assert_eq!(
            request.variables.into_value().into_json().unwrap(),
            serde_json::json!({ "p": post.to_string() })
        );
    }

    #[test]
    fn identical_texts_have_one_digest() {
        let post = Uuid::now_v7();
        assert_eq!(digest(&watching(post)), digest(&watching(post)));
        assert_ne!(digest(&watching(post)), digest(&watching(Uuid::now_v7())));
        let named = Subscription {
            operation_name: Some("".into()),
            ..watching(post)
        };
        assert_ne!(digest(&named), digest(&watching(post)));
    }
}
