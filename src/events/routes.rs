//! Events to the sockets that want them. Each socket with subscriptions has
//! an [`Inbox`], registered under the topics its subscriptions listen to;
//! an event goes only into the inboxes of its topics, so its cost grows with
//! the sockets that want it, not with every socket of the instance.
//!
//! An inbox holds at most the hub's capacity of undelivered events; past
//! it, the oldest are dropped and counted, and the socket is told how many
//! it missed (as a broadcast receiver that lags would be).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;
use uuid::Uuid;

use crate::events::{Delivery, Event};

/// What a subscription listens to, as events are addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Everything about one post: replies, changes, publication, deletion.
    Post(Uuid),
    /// Every published post.
    Published,
    /// One user's notifications.
    Notifications(Uuid),
}

impl Topic {
    /// The topics `event` is delivered under (at most two).
    fn of(event: &Event) -> [Option<Topic>; 2] {
        match *event {
            Event::ReplyAdded { post, .. }
            | Event::PostChanged { post }
            | Event::PostDeleted { post } => [Some(Self::Post(post)), None],
            Event::PostPublished { post } => [Some(Self::Post(post)), Some(Self::Published)],
            Event::NotificationAdded { user, .. } => [Some(Self::Notifications(user)), None],
            Event::SessionsEnded { .. } => [None, None],
        }
    }
}

/// What an inbox yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    Delivery(Delivery),
    /// This many events were dropped because the socket fell behind.
    Missed(u64),
}

/// The inboxes of an instance, by topic.
pub struct Routes {
    capacity: usize,
    next_id: AtomicU64,
    registry: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    inboxes: HashMap<u64, Arc<Queue>>,
    /// Socket ids by topic, with how many of the socket's subscriptions listen.
    by_topic: HashMap<Topic, HashMap<u64, usize>>,
    /// Sockets that take every event for a while (while a subscription
    /// starts and its topic is not known yet).
    everything: HashMap<u64, usize>,
}

struct Queue {
    state: Mutex<QueueState>,
    ready: Notify,
}

#[derive(Default)]
struct QueueState {
    deliveries: VecDeque<Delivery>,
    missed: u64,
}

impl Queue {
    fn state(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, delivery: Delivery, capacity: usize) {
        {
            let mut state = self.state();
            if state.deliveries.len() >= capacity {
                state.deliveries.pop_front();
                state.missed += 1;
            }
            state.deliveries.push_back(delivery);
        }
        self.ready.notify_one();
    }
}

impl Routes {
    /// Routes whose inboxes hold at most `capacity` undelivered events each.
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            capacity: capacity.max(1),
            next_id: AtomicU64::new(0),
            registry: Mutex::new(Registry::default()),
        })
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        // Maps of counters: a panic elsewhere cannot leave them half-changed.
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new inbox, listening to nothing yet.
    pub fn inbox(self: &Arc<Self>) -> Inbox {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let queue = Arc::new(Queue {
            state: Mutex::new(QueueState::default()),
            ready: Notify::new(),
        });
        self.registry().inboxes.insert(id, queue.clone());
        Inbox {
            id,
            queue,
            routes: self.clone(),
            topics: Vec::new(),
            everything: 0,
        }
    }

    /// Puts `delivery` into the inboxes that want it: an event into those of
    /// its topics, a resumption into all.
    pub fn dispatch(&self, delivery: Delivery) {
        let registry = self.registry();
        let event = match delivery {
            Delivery::Resumed => {
                for queue in registry.inboxes.values() {
                    queue.push(delivery, self.capacity);
                }
                return;
            }
            Delivery::Event(event) => event,
        };
        let mut to: HashSet<u64> = registry.everything.keys().copied().collect();
        for topic in Topic::of(&event).into_iter().flatten() {
            if let Some(sockets) = registry.by_topic.get(&topic) {
                to.extend(sockets.keys());
            }
        }
        for id in to {
            if let Some(queue) = registry.inboxes.get(&id) {
                queue.push(delivery, self.capacity);
            }
        }
    }

    fn count(map: &mut HashMap<u64, usize>, id: u64, up: bool) {
        if up {
            *map.entry(id).or_default() += 1;
        } else if let Some(count) = map.get_mut(&id) {
            *count -= 1;
            if *count == 0 {
                map.remove(&id);
            }
        }
    }
}

/// One socket's inbox; dropping it takes it off every topic.
pub struct Inbox {
    id: u64,
    queue: Arc<Queue>,
    routes: Arc<Routes>,
    /// The topics it listens to, once per subscription.
    topics: Vec<Topic>,
    everything: usize,
}

impl Inbox {
    /// Listens to `topic` (once more).
    pub fn listen(&mut self, topic: Topic) {
        let mut registry = self.routes.registry();
        Routes::count(registry.by_topic.entry(topic).or_default(), self.id, true);
        self.topics.push(topic);
    }

    /// Stops listening to `topic` once.
    pub fn unlisten(&mut self, topic: Topic) {
        let Some(at) = self.topics.iter().position(|held| *held == topic) else {
            return;
        };
        self.topics.swap_remove(at);
        let mut registry = self.routes.registry();
        if let Some(sockets) = registry.by_topic.get_mut(&topic) {
            Routes::count(sockets, self.id, false);
            if sockets.is_empty() {
                registry.by_topic.remove(&topic);
            }
        }
    }

    /// Takes every event until [`Self::end_everything`], for a subscription
    /// whose topic is not known until it has started.
    pub fn take_everything(&mut self) {
        Routes::count(&mut self.routes.registry().everything, self.id, true);
        self.everything += 1;
    }

    pub fn end_everything(&mut self) {
        if self.everything == 0 {
            return;
        }
        self.everything -= 1;
        Routes::count(&mut self.routes.registry().everything, self.id, false);
    }

    /// The next delivery, or how many were missed first.
    pub async fn next(&self) -> Received {
        loop {
            {
                let mut state = self.queue.state();
                if state.missed > 0 {
                    return Received::Missed(std::mem::take(&mut state.missed));
                }
                if let Some(delivery) = state.deliveries.pop_front() {
                    return Received::Delivery(delivery);
                }
            }
            // A push between the check and this wait leaves a permit behind.
            self.queue.ready.notified().await;
        }
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        let mut registry = self.routes.registry();
        registry.inboxes.remove(&self.id);
        registry.everything.remove(&self.id);
        for topic in &self.topics {
            if let Some(sockets) = registry.by_topic.get_mut(topic) {
                sockets.remove(&self.id);
                if sockets.is_empty() {
                    registry.by_topic.remove(topic);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(post: Uuid) -> Delivery {
        Delivery::Event(Event::PostChanged { post })
    }

    async fn next_now(inbox: &Inbox) -> Option<Received> {
        tokio::time::timeout(std::time::Duration::from_millis(50), inbox.next())
            .await
            .ok()
    }

    #[tokio::test]
    async fn an_event_reaches_only_the_inboxes_of_its_topics() {
        let routes = Routes::new(8);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let mut watching_a = routes.inbox();
        watching_a.listen(Topic::Post(a));
        let mut watching_b = routes.inbox();
        watching_b.listen(Topic::Post(b));
        let mut feed = routes.inbox();
        feed.listen(Topic::Published);
        feed.listen(Topic::Post(a));

        routes.dispatch(changed(a));
        routes.dispatch(Delivery::Event(Event::PostPublished { post: a }));
        assert_eq!(
            next_now(&watching_a).await,
            Some(Received::Delivery(changed(a)))
        );
        assert_eq!(
            next_now(&watching_a).await,
            Some(Received::Delivery(Delivery::Event(Event::PostPublished {
                post: a
            })))
        );
        assert_eq!(next_now(&watching_b).await, None);
        // Listening under two of an event's topics gets it once.
        assert_eq!(next_now(&feed).await, Some(Received::Delivery(changed(a))));
        assert!(matches!(next_now(&feed).await, Some(Received::Delivery(_))));
        assert_eq!(next_now(&feed).await, None);

        routes.dispatch(Delivery::Resumed);
        assert_eq!(
            next_now(&watching_b).await,
            Some(Received::Delivery(Delivery::Resumed))
        );
    }

    #[tokio::test]
    async fn a_full_inbox_drops_the_oldest_and_says_how_many() {
        let routes = Routes::new(2);
        let post = Uuid::now_v7();
        let mut inbox = routes.inbox();
        inbox.listen(Topic::Post(post));
        for _ in 0..5 {
            routes.dispatch(changed(post));
        }
        assert_eq!(next_now(&inbox).await, Some(Received::Missed(3)));
        assert_eq!(
            next_now(&inbox).await,
            Some(Received::Delivery(changed(post)))
        );
        assert_eq!(
            next_now(&inbox).await,
            Some(Received::Delivery(changed(post)))
        );
        assert_eq!(next_now(&inbox).await, None);
    }

    #[tokio::test]
    async fn unlistening_and_dropping_take_an_inbox_off_its_topics() {
        let routes = Routes::new(8);
        let post = Uuid::now_v7();
        let mut inbox = routes.inbox();
        inbox.listen(Topic::Post(post));
        inbox.listen(Topic::Post(post));
        inbox.unlisten(Topic::Post(post));
        routes.dispatch(changed(post));
        assert!(
            next_now(&inbox).await.is_some(),
            "one subscription still listens"
        );
        inbox.unlisten(Topic::Post(post));
        routes.dispatch(changed(post));
        assert_eq!(next_now(&inbox).await, None);

        inbox.take_everything();
        routes.dispatch(changed(Uuid::now_v7()));
        assert!(
            next_now(&inbox).await.is_some(),
            "while a subscription starts"
        );
        inbox.end_everything();
        inbox.listen(Topic::Published);
        drop(inbox);
        let registry = routes.registry();
        assert!(registry.inboxes.is_empty());
        assert!(registry.by_topic.is_empty());
        assert!(registry.everything.is_empty());
    }

    #[tokio::test]
    async fn a_waiting_inbox_wakes_for_a_delivery() {
        let routes = Routes::new(8);
        let post = Uuid::now_v7();
        let mut inbox = routes.inbox();
        inbox.listen(Topic::Post(post));
        let waiting = tokio::spawn(async move { inbox.next().await });
        tokio::task::yield_now().await;
        routes.dispatch(changed(post));
        assert_eq!(waiting.await.unwrap(), Received::Delivery(changed(post)));
    }
}
