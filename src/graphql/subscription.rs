//! Live updates: the `Subscription` root.
//!
//! A subscription is not kept as a running stream: between events a socket
//! keeps only its text and what it listens to (`http::ws::subscriptions`),
//! which is what lets an instance hold many idle sockets. Its field therefore
//! runs in turns, each an execution of the subscription's document with a
//! [`Turn`] in the request's data:
//! - when the client subscribes, it checks its arguments and the viewer's
//!   right to them, and tells the socket which events concern it
//!   ([`Interest`], written to the turn's [`Report`]); it yields nothing;
//! - for each such event, it loads the object fresh with the subscriber's own
//!   permissions and yields it, or nothing, or ends the subscription.
//!
//! The object comes through a DataLoader shared by all subscribers of the
//! instance (so 1,000 subscribers of one post cost one statement per event,
//! not 1,000); the fields below it go through loaders made for that turn, so
//! nothing stale is shown. A delivery may read from a replica that has the
//! event's write ([`DeliveryReplica`] in its data): the shared loaders are
//! kept per database, so a batch never mixes reads that must see different
//! writes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::dataloader::{DataLoader, NoCache};
use async_graphql::{Context, ID, Subscription as SubscriptionObject};
use futures_util::future::BoxFuture;
use uuid::Uuid;

use crate::db::DbPool;
use crate::db::enums::PostStatus;
use crate::error::{AppError, AppResult};
use crate::events::routes::{Registrar, Topic};
use crate::events::{Event, EventHub};
use crate::graphql::loaders::{PostLoader, ReplyLoader};
use crate::graphql::notification::{Notification, NotificationLoader};
use crate::graphql::post::Post;
use crate::graphql::reply::Reply;
use crate::graphql::{context, ids};
use crate::social::notifications;
use crate::social::posts::{self, PostAccess};

/// What subscriptions share on an instance: the hub and the delivery loaders.
pub struct Live {
    /// The instance's event broadcast.
    pub hub: Arc<EventHub>,
    primary: SharedLoaders,
    /// One set per replica, in the configured order.
    replicas: Vec<SharedLoaders>,
}

/// The loaders of deliveries that read from one database.
struct SharedLoaders {
    posts: DataLoader<PostLoader, NoCache>,
    replies: DataLoader<ReplyLoader, NoCache>,
    notifications: DataLoader<NotificationLoader, NoCache>,
}

impl SharedLoaders {
    fn on(pool: &DbPool) -> Self {
        let spawn = |load: BoxFuture<'static, ()>| tokio::spawn(load);
        Self {
            posts: DataLoader::new(PostLoader(pool.clone()), spawn),
            replies: DataLoader::new(ReplyLoader(pool.clone()), spawn),
            notifications: DataLoader::new(NotificationLoader(pool.clone()), spawn),
        }
    }
}

impl Live {
    /// Delivery loaders on `pool` (the primary) and on each of `replicas`
    /// (see `Replicas::pools`) for the events of `hub`.
    pub fn new(hub: Arc<EventHub>, pool: &DbPool, replicas: &[DbPool]) -> Arc<Self> {
        Arc::new(Self {
            hub,
            primary: SharedLoaders::on(pool),
            replicas: replicas.iter().map(SharedLoaders::on).collect(),
        })
    }

    /// The loaders of deliveries that read from `replica` (none: the primary).
    fn loaders(&self, replica: Option<DeliveryReplica>) -> &SharedLoaders {
        replica
            .and_then(|DeliveryReplica(index)| self.replicas.get(index))
            .unwrap_or(&self.primary)
    }
}

/// Put into a delivery's data when it reads from a replica: the replica's
/// place in the configured list (absent: the primary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReplica(pub usize);

/// Which events a subscription runs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// `replyAdded`: replies to this post, and its deletion.
    Replies(Uuid),
    /// `postUpdated`: changes to this post, and its deletion.
    Post(Uuid),
    /// `feedPostPublished`: every published post.
    Published,
    /// `notificationAdded`: this user's notifications.
    Notifications(Uuid),
}

impl Interest {
    /// The topic its events are addressed to (a subscription then picks
    /// its own among them with [`Self::wants`]).
    pub fn topic(self) -> Topic {
        match self {
            Self::Replies(post) | Self::Post(post) => Topic::Post(post),
            Self::Published => Topic::Published,
            Self::Notifications(user) => Topic::Notifications(user),
        }
    }

    /// True when `event` concerns a subscription with this interest.
    pub fn wants(self, event: &Event) -> bool {
        match (self, *event) {
            (Self::Replies(id), Event::ReplyAdded { post, .. } | Event::PostDeleted { post })
            | (Self::Post(id), Event::PostChanged { post } | Event::PostDeleted { post }) => {
                id == post
            }
            (Self::Published, Event::PostPublished { .. }) => true,
            (Self::Notifications(id), Event::NotificationAdded { user, .. }) => id == user,
            _ => false,
        }
    }
}

/// Why a subscription's fields run: put into the request's data by the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// The client subscribed.
    Subscribe,
    /// An event the subscription's interests want.
    Event(Event),
    /// The socket fell behind the instance's events and missed this many.
    Missed(u64),
    /// The instance lost its listening connection for a while: events
    /// committed meanwhile were missed.
    Resumed,
}

/// What one turn tells the socket, beside the responses.
#[derive(Default)]
pub struct Report {
    interests: Mutex<Vec<Interest>>,
    ended: AtomicBool,
    /// On a subscribe turn: where the field's topic is registered the
    /// moment it is named, before the field checks anything, so an event
    /// committed during the check is not missed.
    registrar: Option<Registrar>,
}

impl Report {
    /// The report of a subscribe turn, registering topics through `registrar`.
    pub fn registering(registrar: Registrar) -> Self {
        Self {
            registrar: Some(registrar),
            ..Self::default()
        }
    }

    /// What the subscription listens to (written on [`Turn::Subscribe`]).
    pub fn interests(&self) -> Vec<Interest> {
        self.interests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// True when the subscription is over (its post was deleted or hidden).
    pub fn ended(&self) -> bool {
        self.ended.load(Ordering::Relaxed)
    }
}

/// What a field yields in one turn: nothing, or the event's object.
pub type Yield<T> = futures_util::stream::Iter<std::option::IntoIter<T>>;

fn nothing<T>() -> Yield<T> {
    futures_util::stream::iter(None)
}

/// What a field does with one event.
enum Step<T> {
    Deliver(T),
    Skip,
    End,
}

/// One turn of one field, as its resolver sees it.
struct Run<'a> {
    /// The shared loaders of the database this turn reads from.
    loaders: &'a SharedLoaders,
    viewer: Option<Uuid>,
    turn: Turn,
    report: &'a Report,
}

impl<'a> Run<'a> {
    fn of(ctx: &Context<'a>) -> async_graphql::Result<Self> {
        let (Some(turn), Some(report)) = (ctx.data_opt::<Turn>(), ctx.data_opt::<Arc<Report>>())
        else {
            return Err(AppError::bad_input(
                "subscription",
                "subscriptions are served over WebSocket (graphql-transport-ws) on /graphql",
            )
            .into());
        };
        let live = ctx
            .data::<Arc<Live>>()
            .expect("the server puts the live services into the schema's data");
        Ok(Self {
            loaders: live.loaders(ctx.data_opt::<DeliveryReplica>().copied()),
            viewer: context::viewer(ctx).user_id(),
            turn: *turn,
            report,
        })
    }

    /// The event of this turn; `None` when the client is subscribing. Missed
    /// events are an error item: the subscription goes on, and the client
    /// knows to refetch.
    fn event(&self) -> AppResult<Option<Event>> {
        match self.turn {
            Turn::Subscribe => Ok(None),
            Turn::Event(event) => Ok(Some(event)),
            Turn::Missed(missed) => Err(AppError::Upstream(
                format!("this subscription fell behind and missed {missed} events; refetch what it shows").into(),
            )),
            Turn::Resumed => Err(AppError::Upstream(
                "the server lost its database connection for a moment and may have missed events; refetch what this subscription shows".into(),
            )),
        }
    }

    /// Registers what the subscription listens to.
    fn listen(&self, interest: Interest) {
        if let Some(registrar) = &self.report.registrar {
            registrar.listen(interest.topic());
        }
        self.report
            .interests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(interest);
    }

    fn finish<T>(&self, step: Step<T>) -> Yield<T> {
        match step {
            Step::Deliver(item) => futures_util::stream::iter(Some(item)),
            Step::Skip => nothing(),
            Step::End => {
                self.report.ended.store(true, Ordering::Relaxed);
                nothing()
            }
        }
    }

    /// The post if the viewer may read it now.
    async fn readable_post(&self, id: Uuid) -> AppResult<Option<Post>> {
        let post = self.loaders.posts.load_one(id).await?;
        Ok(post.filter(|post| posts::visible_to(post, self.viewer)))
    }

    /// NOT_FOUND unless the viewer may read the post.
    async fn require_readable(&self, id: Uuid) -> AppResult<()> {
        match self.readable_post(id).await? {
            Some(_) => Ok(()),
            None => Err(AppError::not_found("no such post")),
        }
    }
}

/// Live updates over WebSocket (graphql-transport-ws on the GraphQL endpoint).
#[derive(Default)]
pub struct Subscription;

#[SubscriptionObject]
impl Subscription {
    /// Replies added to a post the viewer can read
    async fn reply_added(
        &self,
        ctx: &Context<'_>,
        post_id: ID,
    ) -> async_graphql::Result<Yield<Reply>> {
        let post_id = ids::parse(&post_id, "postId")?;
        let run = Run::of(ctx)?;
        let step = match run.event()? {
            None => {
                run.listen(Interest::Replies(post_id));
                run.require_readable(post_id).await?;
                return Ok(nothing());
            }
            Some(Event::ReplyAdded { post, reply }) if post == post_id => {
                if run.readable_post(post).await?.is_none() {
                    Step::End
                } else {
                    match run.loaders.replies.load_one(reply).await? {
                        Some(reply) => Step::Deliver(reply),
                        None => Step::Skip,
                    }
                }
            }
            Some(Event::PostDeleted { post }) if post == post_id => Step::End,
            Some(_) => Step::Skip,
        };
        Ok(run.finish(step))
    }

    /// The post after any change to it: edited, published, liked or unliked, reply added or removed
    async fn post_updated(
        &self,
        ctx: &Context<'_>,
        post_id: ID,
    ) -> async_graphql::Result<Yield<Post>> {
        let post_id = ids::parse(&post_id, "postId")?;
        let run = Run::of(ctx)?;
        let step = match run.event()? {
            None => {
                run.listen(Interest::Post(post_id));
                run.require_readable(post_id).await?;
                return Ok(nothing());
            }
            Some(Event::PostDeleted { post }) if post == post_id => Step::End,
            // Gone or hidden (back to draft) ends the stream.
            Some(Event::PostChanged { post }) if post == post_id => {
                match run.readable_post(post).await? {
                    Some(post) => Step::Deliver(post),
                    None => Step::End,
                }
            }
            Some(_) => Step::Skip,
        };
        Ok(run.finish(step))
    }

    /// Posts as they are published, as they would appear at the top of the feed
    async fn feed_post_published(&self, ctx: &Context<'_>) -> async_graphql::Result<Yield<Post>> {
        let run = Run::of(ctx)?;
        let step = match run.event()? {
            None => {
                run.listen(Interest::Published);
                return Ok(nothing());
            }
            Some(Event::PostPublished { post }) => match run.readable_post(post).await? {
                Some(post) if post.status() == PostStatus::Published => Step::Deliver(post),
                _ => Step::Skip,
            },
            Some(_) => Step::Skip,
        };
        Ok(run.finish(step))
    }

    /// The viewer's own new notifications; UNAUTHENTICATED without a session
    async fn notification_added(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Yield<Notification>> {
        let user_id = context::viewer(ctx).actor()?.user_id;
        let run = Run::of(ctx)?;
        let step = match run.event()? {
            None => {
                run.listen(Interest::Notifications(user_id));
                return Ok(nothing());
            }
            Some(Event::NotificationAdded { user, notification }) if user == user_id => {
                let found = run.loaders.notifications.load_one(notification).await?;
                match notifications::readable(found, user_id) {
                    Ok(found) => Step::Deliver(found.into()),
                    // Withdrawn before delivery.
                    Err(_) => Step::Skip,
                }
            }
            Some(_) => Step::Skip,
        };
        Ok(run.finish(step))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_interest_wants_only_its_events() {
        let (post, other, user, id) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let replies = Interest::Replies(post);
        assert!(replies.wants(&Event::ReplyAdded { post, reply: id }));
        assert!(replies.wants(&Event::PostDeleted { post }));
        assert!(!replies.wants(&Event::PostChanged { post }));
        assert!(!replies.wants(&Event::ReplyAdded {
            post: other,
            reply: id
        }));
        let changes = Interest::Post(post);
        assert!(changes.wants(&Event::PostChanged { post }));
        assert!(changes.wants(&Event::PostDeleted { post }));
        assert!(!changes.wants(&Event::PostChanged { post: other }));
        assert!(Interest::Published.wants(&Event::PostPublished { post: other }));
        assert!(!Interest::Published.wants(&Event::PostChanged { post }));
        let inbox = Interest::Notifications(user);
        assert!(inbox.wants(&Event::NotificationAdded {
            user,
            notification: id
        }));
        assert!(!inbox.wants(&Event::NotificationAdded {
            user: other,
            notification: id
        }));
        assert!(!inbox.wants(&Event::SessionsEnded { user }));
    }
}
