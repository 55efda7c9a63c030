//! The local end of the event fan-out: one bounded broadcast per instance.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

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
    /// Subscriptions listening on this instance's sockets.
    listening: AtomicUsize,
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
            listening: AtomicUsize::new(0),
            _stop: Some(stop),
        })
    }

    /// A hub with no listener: only [`Self::send`] feeds it (for tests).
    pub fn detached(capacity: usize) -> Arc<Self> {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Arc::new(Self {
            sender,
            listening: AtomicUsize::new(0),
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

    /// A socket's subscriptions went from `before` to `now`.
    pub fn set_listening(&self, before: usize, now: usize) {
        if now > before {
            self.listening.fetch_add(now - before, Ordering::Relaxed);
        } else {
            self.listening.fetch_sub(before - now, Ordering::Relaxed);
        }
    }

    /// How many subscriptions listen on this instance: each receives the
    /// events committed from the moment it is counted.
    pub fn listening(&self) -> usize {
        self.listening.load(Ordering::Relaxed)
    }
}
