//! A socket's subscriptions, and running them.
//!
//! Between events a subscription is only its text and the events it wants
//! (a few hundred bytes): nothing of it is parsed, planned or suspended. The
//! socket holds an inbox of the instance's events while it has any
//! subscription, registered under its subscriptions' topics; each event some
//! subscription wants runs that subscription's
//! document once (see `graphql::subscription` for what its fields do in each
//! turn), and the responses go out as `next` messages.

use std::sync::Arc;

use async_graphql::{Request, Response, Variables};
use futures_util::StreamExt;

use crate::accounts::Viewer;
use crate::db::DbPool;
use crate::db::models::audit_event::Origin;
use crate::db::statement_budget::StatementBudget;
use crate::error::AppError;
use crate::events::routes::{Inbox, Received};
use crate::events::{Delivery, EventHub};
use crate::graphql::AppSchema;
use crate::graphql::loaders::Loaders;
use crate::graphql::subscription::{Interest, Report, Turn};

/// The most text (documents and variables) one socket's subscriptions keep
/// together: about 50 ordinary subscriptions.
pub const MAX_KEPT_TEXT: usize = 16 * 1024;

/// Who runs a socket's subscriptions, and with what.
pub struct Subscriber {
    pub schema: AppSchema,
    pub pool: DbPool,
    pub viewer: Viewer,
    pub origin: Origin,
}

impl Subscriber {
    /// Runs `request` for one turn; its responses and what its fields reported.
    async fn run(
        &self,
        request: Request,
        turn: Turn,
        report: Report,
    ) -> (Vec<Response>, Arc<Report>) {
        let report = Arc::new(report);
        // Fresh loaders each turn: nothing cached from an earlier event shows.
        // A subscription is long-lived: the per-request statement cap does not apply.
        let loaders = Loaders::new(
            &self.pool,
            self.viewer.user_id(),
            &StatementBudget::new(u32::MAX),
        );
        let request = request
            .data(turn)
            .data(report.clone())
            .data(self.viewer)
            .data(self.origin.clone())
            .data(Arc::new(loaders));
        let responses = self.schema.execute_stream(request).collect().await;
        (responses, report)
    }
}

/// One subscription between events.
struct Subscription {
    id: Box<str>,
    query: Box<str>,
    operation_name: Option<Box<str>>,
    /// As JSON: parsed variables are a tree of nodes many times larger.
    variables: Box<str>,
    interest: Interest,
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
    ) -> Result<Vec<String>, AppError> {
        let variables = serde_json::to_string(&request.variables)
            .map_err(|err| AppError::internal("storing a subscription's variables", err))?;
        // Every event the subscription wants parses its text again: the
        // text a socket keeps is what prices that work.
        let kept = self.kept() + request.query.len() + variables.len();
        if kept > MAX_KEPT_TEXT {
            return Err(AppError::bad_input(
                "subscribe",
                format!(
                    "the subscriptions of one WebSocket may keep at most {} KiB of documents and variables; this one would make {kept} bytes",
                    MAX_KEPT_TEXT / 1024
                ),
            ));
        }
        // The field registers its topic before it checks anything: an event
        // committed during the check is not missed.
        let hub = &self.hub;
        let registrar = self.inbox.get_or_insert_with(|| hub.inbox()).registrar();
        let query: Box<str> = request.query.as_str().into();
        let operation_name = request.operation_name.as_deref().map(Box::from);
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
        let mut messages: Vec<String> = responses
            .iter()
            .filter_map(|response| message::next(&id, response))
            .collect();
        let failed = responses.iter().any(|response| response.is_err());
        match interests.first() {
            Some(&interest) if !failed => self.list.push(Subscription {
                id: id.into(),
                query,
                operation_name,
                variables: variables.into(),
                interest,
            }),
            _ => {
                self.forget(&interests);
                messages.push(message::complete(&id));
            }
        }
        self.changed();
        Ok(messages)
    }

    /// The bytes of text the socket keeps.
    fn kept(&self) -> usize {
        self.list
            .iter()
            .map(|subscription| subscription.query.len() + subscription.variables.len())
            .sum()
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
    pub async fn next_turn(&self) -> Turn {
        let Some(inbox) = self.inbox.as_ref() else {
            return std::future::pending().await;
        };
        loop {
            let turn = match inbox.next().await {
                Received::Delivery(Delivery::Event(event)) => Turn::Event(event),
                Received::Delivery(Delivery::Resumed) => Turn::Resumed,
                Received::Missed(missed) => Turn::Missed(missed),
            };
            if self
                .list
                .iter()
                .any(|subscription| subscription.wants(&turn))
            {
                return turn;
            }
        }
    }

    /// Runs every subscription that wants `turn` (at once, answers in order);
    /// the messages to send.
    pub async fn deliver(&mut self, subscriber: &Subscriber, turn: Turn) -> Vec<String> {
        let runs = self
            .list
            .iter()
            .filter(|subscription| subscription.wants(&turn))
            .map(|subscription| async move {
                let (responses, report) = subscriber
                    .run(subscription.request(), turn, Report::default())
                    .await;
                (subscription.id.clone(), responses, report.ended())
            });
        let outcomes = futures_util::future::join_all(runs).await;
        let mut messages = Vec::new();
        for (id, responses, ended) in outcomes {
            messages.extend(
                responses
                    .iter()
                    .filter_map(|response| message::next(&id, response)),
            );
            if ended {
                messages.push(message::complete(&id));
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

/// The server's messages about an operation.
pub mod message {
    use async_graphql::Response;
    use serde::Serialize;
    use serde_json::json;

    #[derive(Serialize)]
    #[serde(tag = "type", rename_all = "lowercase")]
    enum Out<'a> {
        Next { id: &'a str, payload: &'a Response },
        Complete { id: &'a str },
    }

    pub fn next(id: &str, payload: &Response) -> Option<String> {
        serde_json::to_string(&Out::Next { id, payload })
            .inspect_err(
                |err| tracing::error!(error = %err, "cannot write a subscription's response"),
            )
            .ok()
    }

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
        hub.send(Delivery::Event(Event::PostChanged { post: other }));
        hub.send(Delivery::Event(Event::PostPublished { post: watched }));
        hub.send(Delivery::Event(Event::PostChanged { post: watched }));
        hub.send(Delivery::Resumed);
        assert_eq!(
            subscriptions.next_turn().await,
            Turn::Event(Event::PostChanged { post: watched })
        );
        assert_eq!(subscriptions.next_turn().await, Turn::Resumed);
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
            hub.send(Delivery::Event(Event::PostChanged { post }));
        }
        assert_eq!(subscriptions.next_turn().await, Turn::Missed(3));
        assert!(subscriptions.list[0].wants(&Turn::Missed(3)));
        // Then the two events still held.
        for _ in 0..2 {
            assert_eq!(
                subscriptions.next_turn().await,
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
    fn next_and_complete_messages_follow_the_protocol() {
        let response = Response::new(async_graphql::Value::Null);
        let next: serde_json::Value =
            serde_json::from_str(&message::next("a", &response).unwrap()).unwrap();
        assert_eq!(next["type"], "next");
        assert_eq!(next["id"], "a");
        assert!(next["payload"].get("data").is_some(), "{next}");
        let complete: serde_json::Value = serde_json::from_str(&message::complete("a")).unwrap();
        assert_eq!(
            complete,
            serde_json::json!({ "type": "complete", "id": "a" })
        );
    }
}
