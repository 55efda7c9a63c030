//! The local end of the event fan-out: one bounded broadcast per instance.

use std::sync::Arc;

use tokio::sync::{broadcast, oneshot};

use crate::config::DatabaseUrl;
use crate::events::{Event, listener};

/// What subscribers receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// An event some instance committed.
    Event(Event),
    /// The listening connection was lost and is back: events committed in
    /// between were missed.
    Resumed,
}

/// The instance's event broadcast, fed by its listener.
pub struct EventHub {
    sender: broadcast::Sender<Delivery>,
    /// Dropping the hub stops its listener.
    _stop: Option<oneshot::Sender<()>>,
}

impl EventHub {
    /// A hub holding at most `capacity` undelivered events per subscriber,
    /// with a listener on `url` that reconnects with backoff.
    pub fn start(url: DatabaseUrl, capacity: usize) -> Arc<Self> {
        let (sender, _) = broadcast::channel(capacity.max(1));
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(listener::run(url, sender.clone(), stopped));
        Arc::new(Self {
            sender,
            _stop: Some(stop),
        })
    }

    /// A hub with no listener: only [`Self::send`] feeds it (for tests).
    pub fn detached(capacity: usize) -> Arc<Self> {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Arc::new(Self {
            sender,
            _stop: None,
        })
    }

    /// A new subscriber, which sees what arrives from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Delivery> {
        self.sender.subscribe()
    }

    /// Delivers to this instance's subscribers only.
    pub fn send(&self, delivery: Delivery) {
        // No subscriber is not an error.
        let _ = self.sender.send(delivery);
    }

    /// How many subscribers hold a receiver.
    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }
}
