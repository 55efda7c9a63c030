//! Live updates: the `Subscription` root. Each stream listens to the
//! instance's event hub and loads every event fresh when it delivers, with
//! the subscriber's own permissions: the object comes through a DataLoader
//! shared by all subscribers of the instance (so 1,000 subscribers of one
//! post cost one statement per event, not 1,000), the visibility check runs
//! per subscriber, and the fields below go through the socket's own loaders,
//! emptied before each event so nothing stale is shown.

use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, NoCache};
use async_graphql::{Context, ID, Subscription as SubscriptionObject};
use futures_util::Stream;
use futures_util::future::BoxFuture;
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

use crate::db::DbPool;
use crate::db::enums::PostStatus;
use crate::error::{AppError, AppResult};
use crate::events::{Delivery, Event, EventHub};
use crate::graphql::loaders::{Loaders, PostLoader, ReplyLoader};
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
    posts: DataLoader<PostLoader, NoCache>,
    replies: DataLoader<ReplyLoader, NoCache>,
    notifications: DataLoader<NotificationLoader, NoCache>,
}

impl Live {
    /// Delivery loaders on `pool` for the events of `hub`.
    pub fn new(hub: Arc<EventHub>, pool: &DbPool) -> Arc<Self> {
        let spawn = |load: BoxFuture<'static, ()>| tokio::spawn(load);
        Arc::new(Self {
            hub,
            posts: DataLoader::new(PostLoader(pool.clone()), spawn),
            replies: DataLoader::new(ReplyLoader(pool.clone()), spawn),
            notifications: DataLoader::new(NotificationLoader(pool.clone()), spawn),
        })
    }
}

/// What one subscription stream holds between events.
struct Listening {
    live: Arc<Live>,
    events: broadcast::Receiver<Delivery>,
    viewer: Option<Uuid>,
    loaders: Arc<Loaders>,
}

/// What a stream does with one event.
enum Step<T> {
    Deliver(T),
    Skip,
    End,
}

impl Listening {
    fn new(ctx: &Context<'_>) -> Self {
        let live = ctx
            .data::<Arc<Live>>()
            .expect("the server puts the live services into the schema's data")
            .clone();
        Self {
            events: live.hub.subscribe(),
            live,
            viewer: context::viewer(ctx).user_id(),
            loaders: ctx
                .data::<Arc<Loaders>>()
                .expect("the WebSocket layer puts loaders into every connection")
                .clone(),
        }
    }

    /// The stream of what `step` makes of each event; a subscriber that fell
    /// behind, or an instance that lost its listener for a while, is told
    /// with an error item (the stream then goes on).
    fn stream<T, F>(self, step: F) -> impl Stream<Item = async_graphql::Result<T>> + Send
    where
        T: Send + 'static,
        F: Fn(Arc<Live>, Option<Uuid>, Event) -> BoxFuture<'static, AppResult<Step<T>>>
            + Send
            + Sync
            + 'static,
    {
        futures_util::stream::unfold((self, step), async |(mut state, step)| {
            loop {
                let event = match state.events.recv().await {
                    Ok(Delivery::Event(event)) => event,
                    Ok(Delivery::Resumed) => {
                        let err = AppError::Upstream(
                            "the server lost its database connection for a moment and may have missed events; refetch what this subscription shows".into(),
                        );
                        return Some((Err(err.into()), (state, step)));
                    }
                    Err(RecvError::Lagged(missed)) => {
                        let err = AppError::Upstream(
                            format!("this subscription fell behind and missed {missed} events; refetch what it shows").into(),
                        );
                        return Some((Err(err.into()), (state, step)));
                    }
                    Err(RecvError::Closed) => return None,
                };
                match step(state.live.clone(), state.viewer, event).await {
                    Ok(Step::Deliver(item)) => {
                        // The fields below this item load fresh.
                        state.loaders.clear();
                        return Some((Ok(item), (state, step)));
                    }
                    Ok(Step::Skip) => {}
                    Ok(Step::End) => return None,
                    Err(err) => return Some((Err(err.into()), (state, step))),
                }
            }
        })
    }
}

/// The post if `viewer` may read it now.
async fn readable_post(live: &Live, id: Uuid, viewer: Option<Uuid>) -> AppResult<Option<Post>> {
    let post = live.posts.load_one(id).await?;
    Ok(post.filter(|post| posts::visible_to(post, viewer)))
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
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Reply>>> {
        let post_id = ids::parse(&post_id, "postId")?;
        let listening = Listening::new(ctx);
        if readable_post(&listening.live, post_id, listening.viewer)
            .await?
            .is_none()
        {
            return Err(AppError::not_found("no such post").into());
        }
        Ok(listening.stream(move |live, viewer, event| {
            Box::pin(async move {
                match event {
                    Event::ReplyAdded { post, reply } if post == post_id => {
                        if readable_post(&live, post, viewer).await?.is_none() {
                            return Ok(Step::End);
                        }
                        Ok(match live.replies.load_one(reply).await? {
                            Some(reply) => Step::Deliver(reply),
                            None => Step::Skip,
                        })
                    }
                    Event::PostDeleted { post } if post == post_id => Ok(Step::End),
                    _ => Ok(Step::Skip),
                }
            })
        }))
    }

    /// The post after any change to it: edited, published, liked or unliked, reply added or removed
    async fn post_updated(
        &self,
        ctx: &Context<'_>,
        post_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Post>>> {
        let post_id = ids::parse(&post_id, "postId")?;
        let listening = Listening::new(ctx);
        if readable_post(&listening.live, post_id, listening.viewer)
            .await?
            .is_none()
        {
            return Err(AppError::not_found("no such post").into());
        }
        Ok(listening.stream(move |live, viewer, event| {
            Box::pin(async move {
                match event {
                    Event::PostDeleted { post } if post == post_id => Ok(Step::End),
                    Event::PostChanged { post } if post == post_id => {
                        // Gone or hidden (back to draft) ends the stream.
                        Ok(match readable_post(&live, post, viewer).await? {
                            Some(post) => Step::Deliver(post),
                            None => Step::End,
                        })
                    }
                    _ => Ok(Step::Skip),
                }
            })
        }))
    }

    /// Posts as they are published, as they would appear at the top of the feed
    async fn feed_post_published(
        &self,
        ctx: &Context<'_>,
    ) -> impl Stream<Item = async_graphql::Result<Post>> {
        Listening::new(ctx).stream(|live, viewer, event| {
            Box::pin(async move {
                let Event::PostPublished { post } = event else {
                    return Ok(Step::Skip);
                };
                Ok(match readable_post(&live, post, viewer).await? {
                    Some(post) if post.status() == PostStatus::Published => Step::Deliver(post),
                    _ => Step::Skip,
                })
            })
        })
    }

    /// The viewer's own new notifications; UNAUTHENTICATED without a session
    async fn notification_added(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Notification>>> {
        let user_id = context::viewer(ctx).actor()?.user_id;
        Ok(Listening::new(ctx).stream(move |live, _, event| {
            Box::pin(async move {
                match event {
                    Event::NotificationAdded { user, notification } if user == user_id => {
                        let found = live.notifications.load_one(notification).await?;
                        Ok(match notifications::readable(found, user_id) {
                            Ok(found) => Step::Deliver(found.into()),
                            // Withdrawn before delivery.
                            Err(_) => Step::Skip,
                        })
                    }
                    _ => Ok(Step::Skip),
                }
            })
        }))
    }
}
