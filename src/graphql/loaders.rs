//! DataLoaders: everything a list resolves per item is loaded in one batched
//! statement per kind. Made per request, so caches never outlive a request
//! and viewer-specific answers (`likedByMe`, drafts) stay with their viewer.
//!
//! A DataLoader batches the keys that arrive within its delay (1 ms), which
//! depends on timing. Lists of posts therefore load every key of the page at
//! once ([`crate::graphql::post_page`]; [`prime`] for other lists), without the
//! delay: a page costs the same statements whatever its size, and
//! the per-item resolvers read the cache.
//!
//! Loaders by id hold API objects, each moved once out of its row, so a
//! resolver's `load_one` clones only what the API shows; users, which a feed
//! page asks for hundreds of times, are shared (`Arc`), so each load is a
//! reference count. Loaders of first pages hold rows: a page's cursors come
//! from its rows' sort keys.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use futures_util::future::BoxFuture;
use uuid::Uuid;

use crate::accounts;
use crate::db::DbPool;
use crate::db::models::post::Post as PostRow;
use crate::db::models::reply::Reply as ReplyRow;
use crate::db::statement_budget::StatementBudget;
use crate::error::AppError;
use crate::graphql::context::checkout;
use crate::graphql::post::Post;
use crate::graphql::reply::Reply;
use crate::graphql::user::User;
use crate::social::{posts, replies};

/// The loaders of one request.
pub struct Loaders {
    pub users: DataLoader<UserLoader, HashMapCache>,
    pub user_cards: DataLoader<UserCardLoader, HashMapCache>,
    pub posts: DataLoader<PostLoader, HashMapCache>,
    pub liked_by_viewer: DataLoader<LikedByViewer, HashMapCache>,
    pub first_replies: DataLoader<FirstReplies, HashMapCache>,
    pub first_posts: DataLoader<FirstPosts, HashMapCache>,
    pub replies: DataLoader<ReplyLoader, HashMapCache>,
}

impl Loaders {
    /// Fresh loaders for a request by `viewer`; their batches count against
    /// the request's statement `budget`.
    pub fn new(pool: &DbPool, viewer: Option<Uuid>, budget: &Arc<StatementBudget>) -> Self {
        let spawn = {
            let budget = budget.clone();
            // Batches run in tasks of their own; the request's span keeps
            // their log lines (the SQL trace) tied to its request id.
            let span = tracing::Span::current();
            move |load: BoxFuture<'static, ()>| {
                tokio::spawn(tracing::Instrument::instrument(
                    budget.clone().scope(load),
                    span.clone(),
                ))
            }
        };
        Self {
            users: DataLoader::with_cache(
                UserLoader(pool.clone()),
                spawn.clone(),
                HashMapCache::default(),
            ),
            user_cards: DataLoader::with_cache(
                UserCardLoader(pool.clone()),
                spawn.clone(),
                HashMapCache::default(),
            ),
            posts: DataLoader::with_cache(
                PostLoader(pool.clone()),
                spawn.clone(),
                HashMapCache::default(),
            ),
            liked_by_viewer: DataLoader::with_cache(
                LikedByViewer {
                    pool: pool.clone(),
                    viewer,
                },
                spawn.clone(),
                HashMapCache::default(),
            ),
            first_replies: DataLoader::with_cache(
                FirstReplies(pool.clone()),
                spawn.clone(),
                HashMapCache::default(),
            ),
            first_posts: DataLoader::with_cache(
                FirstPosts {
                    pool: pool.clone(),
                    viewer,
                },
                spawn.clone(),
                HashMapCache::default(),
            ),
            replies: DataLoader::with_cache(
                ReplyLoader(pool.clone()),
                spawn.clone(),
                HashMapCache::default(),
            ),
        }
    }
}

/// Users by id.
pub struct UserLoader(DbPool);

impl Loader<Uuid> for UserLoader {
    type Value = Arc<User>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Arc<User>>, AppError> {
        let mut conn = checkout(&self.0).await?;
        let users = accounts::find_users(&mut conn, keys).await?;
        Ok(users
            .into_iter()
            .map(|row| (row.id, Arc::new(row.into())))
            .collect())
    }
}

/// Users by id, as cards (see [`crate::graphql::user::load`]).
pub struct UserCardLoader(DbPool);

impl Loader<Uuid> for UserCardLoader {
    type Value = Arc<User>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Arc<User>>, AppError> {
        let mut conn = checkout(&self.0).await?;
        let cards = accounts::find_user_cards(&mut conn, keys).await?;
        Ok(cards
            .into_iter()
            .map(|card| (card.id, Arc::new(card.into())))
            .collect())
    }
}

/// Live posts by id (the caller applies [`posts::visible_to`]).
pub struct PostLoader(pub DbPool);

impl Loader<Uuid> for PostLoader {
    type Value = Post;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Post>, AppError> {
        let mut conn = checkout(&self.0).await?;
        let posts = posts::find_many(&mut conn, keys).await?;
        Ok(posts.into_iter().map(|row| (row.id, row.into())).collect())
    }
}

/// Live replies by id (visibility of their post is checked by the caller).
pub struct ReplyLoader(pub DbPool);

impl Loader<Uuid> for ReplyLoader {
    type Value = Reply;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Reply>, AppError> {
        let mut conn = checkout(&self.0).await?;
        let replies = replies::find_many(&mut conn, keys).await?;
        Ok(replies
            .into_iter()
            .map(|row| (row.id, row.into()))
            .collect())
    }
}

/// Whether the viewer likes each post (no statement for anonymous viewers).
pub struct LikedByViewer {
    pool: DbPool,
    viewer: Option<Uuid>,
}

impl Loader<Uuid> for LikedByViewer {
    type Value = bool;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, bool>, AppError> {
        let Some(viewer) = self.viewer else {
            return Ok(keys.iter().map(|key| (*key, false)).collect());
        };
        let mut conn = checkout(&self.pool).await?;
        let liked = posts::liked_by(&mut conn, viewer, keys).await?;
        Ok(keys.iter().map(|key| (*key, liked.contains(key))).collect())
    }
}

/// The oldest `n` replies of each post, keyed by (post, n).
pub struct FirstReplies(DbPool);

impl Loader<(Uuid, i64)> for FirstReplies {
    type Value = Vec<ReplyRow>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[(Uuid, i64)],
    ) -> Result<HashMap<(Uuid, i64), Vec<ReplyRow>>, AppError> {
        let mut conn = checkout(&self.0).await?;
        let mut found = HashMap::new();
        // One statement per distinct page size (one in practice).
        for (limit, post_ids) in group_by_limit(keys) {
            let mut by_post: HashMap<Uuid, Vec<ReplyRow>> =
                post_ids.iter().map(|id| (*id, Vec::new())).collect();
            for reply in replies::first_pages(&mut conn, &post_ids, limit).await? {
                by_post.entry(reply.post_id).or_default().push(reply);
            }
            found.extend(
                by_post
                    .into_iter()
                    .map(|(post_id, replies)| ((post_id, limit), replies)),
            );
        }
        Ok(found)
    }
}

/// The newest `n` posts of each author, keyed by (author, n); the viewer's own drafts included.
pub struct FirstPosts {
    pool: DbPool,
    viewer: Option<Uuid>,
}

impl Loader<(Uuid, i64)> for FirstPosts {
    type Value = Vec<PostRow>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[(Uuid, i64)],
    ) -> Result<HashMap<(Uuid, i64), Vec<PostRow>>, AppError> {
        let mut conn = checkout(&self.pool).await?;
        let mut found = HashMap::new();
        for (limit, author_ids) in group_by_limit(keys) {
            let mut by_author: HashMap<Uuid, Vec<PostRow>> =
                author_ids.iter().map(|id| (*id, Vec::new())).collect();
            for post in posts::first_pages(&mut conn, self.viewer, &author_ids, limit).await? {
                by_author.entry(post.author_id).or_default().push(post);
            }
            found.extend(
                by_author
                    .into_iter()
                    .map(|(author_id, posts)| ((author_id, limit), posts)),
            );
        }
        Ok(found)
    }
}

/// Loads `keys` straight through the loader and puts the values in its cache,
/// skipping the batching delay: for callers that already hold every key.
pub async fn prime<K, T>(loader: &DataLoader<T, HashMapCache>, keys: &[K]) -> Result<(), AppError>
where
    T: Loader<K, Error = AppError>,
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
{
    let values = loader.loader().load(keys).await?;
    loader.feed_many(values).await;
    Ok(())
}

fn group_by_limit(keys: &[(Uuid, i64)]) -> HashMap<i64, Vec<Uuid>> {
    let mut groups: HashMap<i64, Vec<Uuid>> = HashMap::new();
    for (id, limit) in keys {
        groups.entry(*limit).or_default().push(*id);
    }
    groups
}
