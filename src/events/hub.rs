//! The local end of the event fan-out: what the listener hears goes to the
//! sockets that want it ([`Routes`]) and to one bounded broadcast for the
//! instance's own watchers (the sessions watcher of `http::ws::sockets`).

use std::sync::Arc;

use tokio::sync::{broadcast, oneshot};

use crate::config::DatabaseUrl;
use crate::db::replicas::Lsn;
use crate::events::routes::{Inbox, Routes};
use crate::events::{Event, listener};

/// What subscribers receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// An event some instance committed, and a WAL position of the primary
    /// at or past its transaction's commit (`None` when the instance has no
    /// replicas or could not tell: its deliveries read from the primary).
    Event(Event, Option<Lsn>),
    /// The listening connection was lost and is back: events committed in
    /// between were missed.
    Resumed,
}

/// Where the listener puts what it hears.
#[derive(Clone)]
pub struct Fanout {
    sender: broadcast::Sender<Delivery>,
    routes: Arc<Routes>,
}

impl Fanout {
    fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Self {
            sender,
            routes: Routes::new(capacity),
        }
    }

    /// Delivers to this instance's watchers and sockets.
    pub fn send(&self, delivery: Delivery) {
        // No watcher is not an error.
        let _ = self.sender.send(delivery);
        self.routes.dispatch(delivery);
    }
}

/// The instance's event fan-out, fed by its listener.
pub struct EventHub {
    fanout: Fanout,
    /// Dropping the hub stops its listener.
    _stop: Option<oneshot::Sender<()>>,
}

impl EventHub {
    /// A hub holding at most `capacity` undelivered events per socket and
    /// watcher, with a listener on `url` (the primary) that reconnects with
    /// backoff; with `positions`, each event carries the primary's WAL
    /// position once it committed (for deliveries from replicas).
    pub fn start(url: DatabaseUrl, capacity: usize, positions: bool) -> Arc<Self> {
        let fanout = Fanout::new(capacity);
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(listener::run(url, fanout.clone(), positions, stopped));
        Arc::new(Self {
            fanout,
            _stop: Some(stop),
        })
    }

    /// A hub with no listener: only [`Self::send`] feeds it (for tests).
    pub fn detached(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            fanout: Fanout::new(capacity),
            _stop: None,
        })
    }

    /// A new watcher of every event, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Delivery> {
        self.fanout.sender.subscribe()
    }

    /// A socket's inbox, listening to nothing yet.
    pub fn inbox(&self) -> Inbox {
        self.fanout.routes.inbox()
    }

    /// How many subscriptions listen on this instance's sockets: each
    /// receives the events committed from the moment it is counted (a
    /// subscription is counted from its subscribe turn on).
    pub fn routed(&self) -> usize {
        self.fanout.routes.routed()
    }

    /// Delivers to this instance's watchers and sockets only.
    pub fn send(&self, delivery: Delivery) {
        self.fanout.send(delivery);
    }
}
