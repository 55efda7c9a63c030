//! A page of posts (the feed, a user's posts) with what the query selects
//! below its posts, loaded in a fixed number of statements whatever its size.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::connection::Connection;
use async_graphql::dataloader::Loader;
use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::{Context, ContextSelectionSet, Lookahead, OutputType, Positioned};
use async_graphql::{ServerResult, Value};
use uuid::Uuid;

use crate::db::models::post::Post as PostRow;
use crate::db::models::reply::Reply as ReplyRow;
use crate::db::pagination::Keyset;
use crate::error::{AppError, AppResult};
use crate::graphql::connection::PageRequest;
use crate::graphql::context;
use crate::graphql::direct::{self, PageData};
use crate::graphql::fast::Fast;
use crate::graphql::loaders::Loaders;
use crate::graphql::post::Post;
use crate::graphql::user::{self, User};
use crate::metrics;

/// A `PostConnection`: the page's rows and what was loaded for the fields
/// below them. Its JSON is written straight from them when the selection
/// allows ([`direct`]); otherwise the loaded values go into the request's
/// loaders and the page resolves as a Relay connection, field by field.
pub struct PostPage {
    page: PageRequest,
    rows: Vec<PostRow>,
    loaded: Loaded,
}

/// Values loaded with a page, not yet in the request's loaders.
#[derive(Default, Clone)]
struct Loaded {
    liked: HashMap<Uuid, bool>,
    first_replies: HashMap<(Uuid, i64), Vec<ReplyRow>>,
    users: HashMap<Uuid, Arc<User>>,
    cards: HashMap<Uuid, Arc<User>>,
}

impl Loaded {
    async fn into_loaders(self, loaders: &Loaders) {
        loaders.liked_by_viewer.feed_many(self.liked).await;
        loaders.first_replies.feed_many(self.first_replies).await;
        loaders.users.feed_many(self.users).await;
        loaders.user_cards.feed_many(self.cards).await;
    }
}

impl PostPage {
    /// The page of `rows` (fetched with [`PageRequest::fetch`]) with what the
    /// query selects below its posts: `likedByMe` (unless `liked` came with
    /// the rows), the first replies and the authors of posts and replies.
    pub async fn load(
        ctx: &Context<'_>,
        page: PageRequest,
        rows: Vec<PostRow>,
        liked: Option<HashMap<Uuid, bool>>,
    ) -> AppResult<Self> {
        let size = usize::try_from(page.size).unwrap_or(0);
        let shown = &rows[..rows.len().min(size)];
        let node = ctx.look_ahead().field("edges").field("node");
        let loaded = load_below(ctx, shown, node, liked).await?;
        Ok(Self { page, rows, loaded })
    }
}

impl OutputType for PostPage {
    fn type_name() -> Cow<'static, str> {
        Connection::<Keyset, Fast<Post>>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        Connection::<Keyset, Fast<Post>>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        // A written page selects only a user's card fields (the planner
        // refuses any other), so its authors are among the cards.
        let data = PageData {
            page: &self.page,
            rows: &self.rows,
            liked: &self.loaded.liked,
            first_replies: &self.loaded.first_replies,
            users: &self.loaded.cards,
        };
        if let Some(json) = direct::write_page(ctx, field, &data) {
            metrics::post_page(true);
            return Ok(Value::Binary(json.into()));
        }
        metrics::post_page(false);
        self.loaded
            .clone()
            .into_loaders(context::loaders(ctx))
            .await;
        let connection: Connection<Keyset, Fast<Post>> =
            self.page.connection(self.rows.clone(), PostRow::keyset);
        connection.resolve(ctx, field).await
    }
}

/// Loads, for the posts of a page, what the query selects below them
/// (authors, `likedByMe`, first replies and their authors) with one statement
/// per kind. `node` is the look-ahead at the page's `edges.node`.
async fn load_below(
    ctx: &Context<'_>,
    posts: &[PostRow],
    node: Lookahead<'_>,
    liked: Option<HashMap<Uuid, bool>>,
) -> AppResult<Loaded> {
    let mut loaded = Loaded::default();
    if posts.is_empty() {
        return Ok(loaded);
    }
    let loaders = context::loaders(ctx);
    let post_ids: Vec<Uuid> = posts.iter().map(|post| post.id).collect();
    let likes = async {
        match liked {
            Some(liked) => Ok(liked),
            None if node.field("likedByMe").exists() => {
                loaders.liked_by_viewer.loader().load(&post_ids).await
            }
            None => Ok(HashMap::new()),
        }
    };
    let replies = async {
        let replies = node.field("replies");
        let Some(page) = first_page_of(&replies)? else {
            return Ok::<_, AppError>(HashMap::new());
        };
        let keys: Vec<(Uuid, i64)> = post_ids.iter().map(|id| (*id, page.fetch())).collect();
        loaders.first_replies.loader().load(&keys).await
    };
    (loaded.liked, loaded.first_replies) = futures_util::try_join!(likes, replies)?;
    // Post and reply authors come in one statement when they are selected alike.
    let post_author = node.field("author");
    let reply_author = node
        .field("replies")
        .field("edges")
        .field("node")
        .field("author");
    let mut post_author_ids: Vec<Uuid> = if post_author.exists() {
        posts.iter().map(|post| post.author_id).collect()
    } else {
        Vec::new()
    };
    let mut reply_author_ids: Vec<Uuid> = if reply_author.exists() {
        loaded
            .first_replies
            .values()
            .flatten()
            .map(|reply| reply.author_id)
            .collect()
    } else {
        Vec::new()
    };
    if user::selection_wants_details(&post_author) == user::selection_wants_details(&reply_author) {
        post_author_ids.append(&mut reply_author_ids);
    }
    for (selection, ids) in [
        (&post_author, &mut post_author_ids),
        (&reply_author, &mut reply_author_ids),
    ] {
        ids.sort_unstable();
        ids.dedup();
        let (details, users) = user::fetch_for(ctx, selection, ids).await?;
        if details {
            loaded.users.extend(users);
        } else {
            loaded.cards.extend(users);
        }
    }
    Ok(loaded)
}

/// The page a connection field asks for, when it asks for a first page
/// (`after` absent) and is selected once; `None` otherwise.
fn first_page_of(field: &Lookahead<'_>) -> AppResult<Option<PageRequest>> {
    let selections = field.selection_fields();
    let [selection] = selections.as_slice() else {
        return Ok(None);
    };
    let arguments = selection
        .arguments()
        .map_err(|err| AppError::internal("cannot read arguments", err.message))?;
    let mut first = None;
    for (name, value) in arguments {
        match (name.as_str(), value) {
            ("after", Value::Null) => {}
            ("after", _) => return Ok(None),
            ("first", Value::Number(n)) => first = n.as_i64().and_then(|n| i32::try_from(n).ok()),
            _ => {}
        }
    }
    Ok(Some(PageRequest::parse(first, None)?))
}
