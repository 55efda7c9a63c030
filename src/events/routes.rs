//! Events to the sockets that want them. Each socket with subscriptions has
//! an [`Inbox`], registered under the topics its subscriptions listen to;
//! an event goes only into the inboxes of its topics, so its cost grows with
//! the sockets that want it, not with every socket of the instance.
//!
//! An inbox holds at most the hub's capacity of undelivered events; past
//! it, the oldest are dropped and counted, and the socket is told how many
//! it missed (as a broadcast receiver that lags would be).

use std::collections::{HashMap, VecDeque};
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
    /// The topic `event` is delivered under. (Publishing a post also
    /// announces it changed, under the post's own topic.)
    fn of(event: &Event) -> Option<Topic> {
        match *event {
            Event::ReplyAdded { post, .. }
            | Event::PostChanged { post }
            | Event::PostDeleted { post } => Some(Self::Post(post)),
            Event::PostPublished { .. } => Some(Self::Published),
            Event::NotificationAdded { user, .. } => Some(Self::Notifications(user)),
            Event::SessionsEnded { .. } => None,
        }
    }
}

/// What an inbox yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// A delivery, with its number on this instance: every inbox gets one
    /// dispatch under the same number, so subscriptions of different
    /// sockets can tell they are answering the same event.
    Delivery(u64, Delivery),
    /// This many events were dropped because the socket fell behind.
    Missed(u64),
}

/// The inboxes of an instance, by topic.
pub struct Routes {
    capacity: usize,
    next_id: AtomicU64,
    next_dispatch: AtomicU64,
    registry: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    inboxes: HashMap<u64, Entry>,
    /// Socket ids by topic, with how many of the socket's subscriptions listen.
    by_topic: HashMap<Topic, HashMap<u64, usize>>,
}

struct Entry {
    queue: Arc<Queue>,
    /// The topics it listens to, once per subscription (so dropping the
    /// inbox finds them all, however they were registered).
    topics: Vec<Topic>,
}

struct Queue {
    state: Mutex<QueueState>,
    ready: Notify,
}

#[derive(Default)]
struct QueueState {
    deliveries: VecDeque<(u64, Delivery)>,
    missed: u64,
}

impl Queue {
    fn state(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, delivery: (u64, Delivery), capacity: usize) {
        // A backlog is bounded by `capacity` events (64 bytes each, with
        // their write position and dispatch number) and given back once
        // drained (see `Inbox::next`).
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
            next_dispatch: AtomicU64::new(0),
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
        let entry = Entry {
            queue: queue.clone(),
            topics: Vec::new(),
        };
        self.registry().inboxes.insert(id, entry);
        Inbox {
            id,
            queue,
            routes: self.clone(),
        }
    }

    /// How many (subscription, topic) registrations are held.
    pub fn routed(&self) -> usize {
        self.registry()
            .by_topic
            .values()
            .flat_map(HashMap::values)
            .sum()
    }

    /// Puts `delivery` into the inboxes that want it: an event into those of
    /// its topics, a resumption into all.
    ///
    /// The registry is locked only to find the inboxes: sockets opening and
    /// subscribing do not wait for the pushes. (One listener task
    /// dispatches, so inboxes still get events in order.)
    pub fn dispatch(&self, delivery: Delivery) {
        let number = self.next_dispatch.fetch_add(1, Ordering::Relaxed);
        let queues: Vec<Arc<Queue>> = {
            let registry = self.registry();
            match delivery {
                Delivery::Resumed => registry
                    .inboxes
                    .values()
                    .map(|entry| entry.queue.clone())
                    .collect(),
                Delivery::Event(event, _) => Topic::of(&event)
                    .and_then(|topic| registry.by_topic.get(&topic))
                    .map(|sockets| {
                        sockets
                            .keys()
                            .filter_map(|id| registry.inboxes.get(id))
                            .map(|entry| entry.queue.clone())
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        };
        for queue in queues {
            queue.push((number, delivery), self.capacity);
        }
    }

    fn listen(&self, id: u64, topic: Topic) {
        let mut registry = self.registry();
        let Some(entry) = registry.inboxes.get_mut(&id) else {
            return;
        };
        entry.topics.push(topic);
        *registry
            .by_topic
            .entry(topic)
            .or_default()
            .entry(id)
            .or_default() += 1;
    }

    fn unlisten(&self, id: u64, topic: Topic) {
        let mut registry = self.registry();
        let Some(entry) = registry.inboxes.get_mut(&id) else {
            return;
        };
        let Some(at) = entry.topics.iter().position(|held| *held == topic) else {
            return;
        };
        entry.topics.swap_remove(at);
        let Some(sockets) = registry.by_topic.get_mut(&topic) else {
            return;
        };
        if let Some(count) = sockets.get_mut(&id) {
            *count -= 1;
            if *count == 0 {
                sockets.remove(&id);
            }
        }
        if sockets.is_empty() {
            registry.by_topic.remove(&topic);
        }
    }
}

/// Registers topics for one inbox from wherever its subscription runs: a
/// subscription's field names its topic before it checks anything, so an
/// event committed during the check is not missed.
#[derive(Clone)]
pub struct Registrar {
    routes: Arc<Routes>,
    id: u64,
}

impl Registrar {
    /// Listens to `topic` (once more).
    pub fn listen(&self, topic: Topic) {
        self.routes.listen(self.id, topic);
    }
}

/// One socket's inbox; dropping it takes it off every topic.
pub struct Inbox {
    id: u64,
    queue: Arc<Queue>,
    routes: Arc<Routes>,
}

impl Inbox {
    /// Listens to `topic` (once more).
    pub fn listen(&mut self, topic: Topic) {
        self.routes.listen(self.id, topic);
    }

    /// What registers topics for this inbox while a subscription runs.
    pub fn registrar(&self) -> Registrar {
        Registrar {
            routes: self.routes.clone(),
            id: self.id,
        }
    }

    /// Stops listening to `topic` once.
    pub fn unlisten(&mut self, topic: Topic) {
        self.routes.unlisten(self.id, topic);
    }

    /// The next delivery, or how many were missed first.
    pub async fn next(&self) -> Received {
        loop {
            {
                let mut state = self.queue.state();
                if state.missed > 0 {
                    return Received::Missed(std::mem::take(&mut state.missed));
                }
                if let Some((number, delivery)) = state.deliveries.pop_front() {
                    if state.deliveries.is_empty() && state.deliveries.capacity() > 16 {
                        // Give a drained backlog back.
                        state.deliveries = VecDeque::new();
                    }
                    return Received::Delivery(number, delivery);
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
        let Some(entry) = registry.inboxes.remove(&self.id) else {
            return;
        };
        for topic in &entry.topics {
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
        Delivery::Event(Event::PostChanged { post }, None)
    }

    /// What the inbox holds now, without the dispatch number.
    async fn next_now(inbox: &Inbox) -> Option<Received> {
        tokio::time::timeout(std::time::Duration::from_millis(50), inbox.next())
            .await
            .ok()
            .map(|received| match received {
                Received::Delivery(_, delivery) => Received::Delivery(0, delivery),
                missed => missed,
            })
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
        routes.dispatch(Delivery::Event(Event::PostPublished { post: a }, None));
        assert_eq!(
            next_now(&watching_a).await,
            Some(Received::Delivery(0, changed(a)))
        );
        assert_eq!(
            next_now(&watching_a).await,
            None,
            "a publication goes to the feed's topic only"
        );
        assert_eq!(next_now(&watching_b).await, None);
        assert_eq!(
            next_now(&feed).await,
            Some(Received::Delivery(0, changed(a)))
        );
        assert_eq!(
            next_now(&feed).await,
            Some(Received::Delivery(
                0,
                Delivery::Event(Event::PostPublished { post: a }, None)
            ))
        );
        assert_eq!(next_now(&feed).await, None);

        routes.dispatch(Delivery::Resumed);
        assert_eq!(
            next_now(&watching_b).await,
            Some(Received::Delivery(0, Delivery::Resumed))
        );
    }

    #[tokio::test]
    async fn every_inbox_gets_one_dispatch_under_one_number() {
        let routes = Routes::new(8);
        let post = Uuid::now_v7();
        let mut a = routes.inbox();
        a.listen(Topic::Post(post));
        let mut b = routes.inbox();
        b.listen(Topic::Post(post));
        routes.dispatch(changed(post));
        routes.dispatch(changed(post));
        let (Received::Delivery(a1, _), Received::Delivery(b1, _)) =
            (a.next().await, b.next().await)
        else {
            panic!("deliveries");
        };
        let Received::Delivery(a2, _) = a.next().await else {
            panic!("a delivery");
        };
        assert_eq!(a1, b1, "one event, one number");
        assert_ne!(a1, a2, "two events of the same value, two numbers");
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
            Some(Received::Delivery(0, changed(post)))
        );
        assert_eq!(
            next_now(&inbox).await,
            Some(Received::Delivery(0, changed(post)))
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

        // A subscription registers through the registrar while it runs.
        let registrar = inbox.registrar();
        registrar.listen(Topic::Published);
        routes.dispatch(Delivery::Event(Event::PostPublished { post }, None));
        assert!(next_now(&inbox).await.is_some(), "heard at once");
        inbox.listen(Topic::Notifications(post));
        drop(inbox);
        let registry = routes.registry();
        assert!(registry.inboxes.is_empty());
        assert!(
            registry.by_topic.is_empty(),
            "dropping takes the registrar's topics off too"
        );
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
        assert!(matches!(
            waiting.await.unwrap(),
            Received::Delivery(_, delivery) if delivery == changed(post)
        ));
    }
}
