//! The instance's signed-in WebSockets, by user: the per-user limit, and
//! closing the sockets of sessions that ended (sign-out, sign-out everywhere,
//! password change or reset, account deletion, expiry).
//!
//! A trigger on `sessions` announces ended sessions per user through the
//! event hub; on each announcement the user's sockets are checked against the
//! database in one statement. A sweep every [`SWEEP_INTERVAL`] (and after the
//! listener reconnects, when announcements may have been missed) checks every
//! socket the same way, which also catches sessions that simply expired.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::db::DbPool;
use crate::db::models::session;
use crate::events::{Delivery, Event, EventHub};

/// How often every socket's session is checked even without an announcement.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// The signed-in sockets of this instance.
pub struct Sockets {
    max_per_user: usize,
    inner: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    by_user: HashMap<Uuid, Vec<Entry>>,
}

struct Entry {
    id: u64,
    session_id: Uuid,
    end: Option<oneshot::Sender<()>>,
}

/// A registered socket; dropping it unregisters the socket.
pub struct Registration {
    sockets: Arc<Sockets>,
    user_id: Uuid,
    id: u64,
    /// Fires when the socket's session ended.
    pub ended: oneshot::Receiver<()>,
}

/// The user already holds as many sockets as allowed.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("too many open WebSockets for this user (at most {0} per server)")]
pub struct TooManySockets(pub usize);

impl Sockets {
    /// A registry allowing `max_per_user` sockets per user, whose sessions are
    /// checked on the hub's announcements and every [`SWEEP_INTERVAL`].
    pub fn start(max_per_user: usize, hub: &EventHub, pool: DbPool) -> Arc<Self> {
        let sockets = Arc::new(Self {
            max_per_user,
            inner: Mutex::new(Registry::default()),
        });
        tokio::spawn(watch_sessions(
            Arc::downgrade(&sockets),
            hub.subscribe(),
            pool,
        ));
        sockets
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        // A panic while holding the lock cannot leave the maps half-changed
        // in a way that matters more than losing the whole registry would.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a socket of `user_id` on `session_id`.
    pub fn register(
        self: &Arc<Self>,
        user_id: Uuid,
        session_id: Uuid,
    ) -> Result<Registration, TooManySockets> {
        let mut registry = self.registry();
        registry.next_id += 1;
        let id = registry.next_id;
        let entries = registry.by_user.entry(user_id).or_default();
        if entries.len() >= self.max_per_user {
            return Err(TooManySockets(self.max_per_user));
        }
        let (end, ended) = oneshot::channel();
        entries.push(Entry {
            id,
            session_id,
            end: Some(end),
        });
        Ok(Registration {
            sockets: self.clone(),
            user_id,
            id,
            ended,
        })
    }

    /// How many signed-in sockets are open.
    pub fn count(&self) -> usize {
        self.registry().by_user.values().map(Vec::len).sum()
    }

    /// The sessions of `user` (or of everyone) with open sockets.
    fn sessions(&self, user: Option<Uuid>) -> Vec<Uuid> {
        let registry = self.registry();
        let mut ids: Vec<Uuid> = match user {
            Some(user) => registry
                .by_user
                .get(&user)
                .map(|entries| entries.iter().map(|entry| entry.session_id).collect())
                .unwrap_or_default(),
            None => registry
                .by_user
                .values()
                .flatten()
                .map(|entry| entry.session_id)
                .collect(),
        };
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Ends the sockets of `checked` sessions that are not `live`.
    fn end_unless_live(&self, checked: &[Uuid], live: &[Uuid]) {
        let mut registry = self.registry();
        for entry in registry.by_user.values_mut().flatten() {
            if checked.contains(&entry.session_id)
                && !live.contains(&entry.session_id)
                && let Some(end) = entry.end.take()
            {
                let _ = end.send(());
            }
        }
    }

    /// Checks the sessions of `user`'s sockets (or every socket's) and ends those that ended.
    async fn check(&self, pool: &DbPool, user: Option<Uuid>) {
        let checked = self.sessions(user);
        if checked.is_empty() {
            return;
        }
        let live = match pool.get().await {
            Ok(mut conn) => session::live_among(&mut conn, &checked).await,
            Err(err) => {
                tracing::warn!(error = %err, "cannot check WebSocket sessions");
                return;
            }
        };
        match live {
            Ok(live) => self.end_unless_live(&checked, &live),
            Err(err) => tracing::warn!(error = %err, "cannot check WebSocket sessions"),
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut registry = self.sockets.registry();
        if let Some(entries) = registry.by_user.get_mut(&self.user_id) {
            entries.retain(|entry| entry.id != self.id);
            if entries.is_empty() {
                registry.by_user.remove(&self.user_id);
            }
        }
    }
}

async fn watch_sessions(
    sockets: Weak<Sockets>,
    mut deliveries: tokio::sync::broadcast::Receiver<Delivery>,
    pool: DbPool,
) {
    let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let user = tokio::select! {
            delivery = deliveries.recv() => match delivery {
                Ok(Delivery::Event(Event::SessionsEnded { user }, _)) => Some(user),
                Ok(Delivery::Event(..)) => continue,
                // Announcements may have been missed: check everyone.
                Ok(Delivery::Resumed) | Err(RecvError::Lagged(_)) => None,
                Err(RecvError::Closed) => return,
            },
            _ = sweep.tick() => None,
        };
        let Some(sockets) = sockets.upgrade() else {
            return;
        };
        sockets.check(&pool, user).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ended_sessions_end_their_sockets_only() {
        let sockets = Arc::new(Sockets {
            max_per_user: 2,
            inner: Mutex::new(Registry::default()),
        });
        let (user, kept, ended) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut a = sockets.register(user, kept).unwrap();
        let mut b = sockets.register(user, ended).unwrap();
        assert!(
            sockets.register(user, kept).is_err(),
            "the per-user limit holds"
        );
        sockets.end_unless_live(&[kept, ended], &[kept]);
        assert!(b.ended.try_recv().is_ok());
        assert!(a.ended.try_recv().is_err());
        drop(b);
        assert_eq!(sockets.count(), 1);
        assert!(
            sockets.register(user, kept).is_ok(),
            "a closed socket frees its place"
        );
    }
}
