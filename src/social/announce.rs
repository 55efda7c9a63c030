//! What each social write announces: the live events and the notifications
//! it makes. Every function runs inside the write's own transaction, so a
//! notification exists and an event is delivered only if the write commits.

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;

use crate::db::enums::PostStatus;
use crate::db::models::notification;
use crate::db::models::post::Post;
use crate::db::models::reply::Reply;
use crate::events::{self, Event};

/// A post was created: announced when it is published right away.
pub async fn post_created(conn: &mut AsyncPgConnection, post: &Post) -> QueryResult<()> {
    if post.status == PostStatus::Published {
        events::publish(conn, &[Event::PostPublished { post: post.id }]).await?;
    }
    Ok(())
}

/// A post was edited (`before` is the row before the edit).
pub async fn post_updated(
    conn: &mut AsyncPgConnection,
    before: &Post,
    after: &Post,
) -> QueryResult<()> {
    let mut announced = vec![Event::PostChanged { post: after.id }];
    if before.status != PostStatus::Published && after.status == PostStatus::Published {
        announced.push(Event::PostPublished { post: after.id });
    }
    events::publish(conn, &announced).await
}

/// A post was deleted: its live streams end.
pub async fn post_deleted(conn: &mut AsyncPgConnection, post: &Post) -> QueryResult<()> {
    events::publish(conn, &[Event::PostDeleted { post: post.id }]).await
}

/// `actor` liked (or unliked) `post`: its counter moved. A like notifies the
/// author once per (actor, post); an unlike withdraws that notification while
/// it is unread. Own likes notify no one.
pub async fn like_set(
    conn: &mut AsyncPgConnection,
    actor: uuid::Uuid,
    post: &Post,
    liked: bool,
) -> QueryResult<()> {
    let mut announced = vec![Event::PostChanged { post: post.id }];
    if liked {
        if let Some(notification) = notification::notify_like(conn, actor, post.id).await? {
            announced.push(Event::NotificationAdded {
                user: post.author_id,
                notification,
            });
        }
    } else {
        notification::withdraw_like(conn, actor, post.id).await?;
    }
    events::publish(conn, &announced).await
}

/// A reply was added to `post`: announced, and its author notified unless they wrote it.
pub async fn reply_added(
    conn: &mut AsyncPgConnection,
    post: &Post,
    reply: &Reply,
) -> QueryResult<()> {
    let mut announced = vec![
        Event::ReplyAdded {
            post: post.id,
            reply: reply.id,
        },
        Event::PostChanged { post: post.id },
    ];
    if let Some(notification) =
        notification::notify_reply(conn, reply.author_id, post.id, reply.id).await?
    {
        announced.push(Event::NotificationAdded {
            user: post.author_id,
            notification,
        });
    }
    events::publish(conn, &announced).await
}

/// A reply was deleted: its post's counter moved, and its unread notification goes.
pub async fn reply_deleted(conn: &mut AsyncPgConnection, reply: &Reply) -> QueryResult<()> {
    notification::remove_unread_for_reply(conn, reply.id).await?;
    events::publish(
        conn,
        &[Event::PostChanged {
            post: reply.post_id,
        }],
    )
    .await
}
