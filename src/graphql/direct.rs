//! The feed page answered by writing its JSON straight from its rows.
//!
//! Resolved field by field, a page of 50 posts with their authors and first
//! replies is about 1,300 fields in 600 objects: each a context, a future, a
//! `Value` and an `IndexMap` entry, and then the whole tree serialised. That
//! was most of the server's own CPU per page (issue 23's profiles). When the
//! page's selection is plain (fields of the page's own types, with aliases
//! and `__typename`, but no fragments, directives or response key selected
//! twice) and everything it selects was loaded with the page, [`write_page`] turns
//! the selection into a small plan once and writes the page's JSON from the
//! rows. Anything else returns `None` and the page is resolved field by field,
//! as before: the plan knows no field it would answer differently.
//!
//! The JSON travels to the response as a `Value::Binary` holding JSON text,
//! which only the HTTP response writer (`http::graphql_response`) reads as
//! such; so the page is written only when the request carries [`RawJson`],
//! which the HTTP layer puts there. The schema has no type whose values are
//! binary, so no other value can be mistaken for written JSON.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use async_graphql::parser::types::{Field, Selection, SelectionSet, VariableDefinition};
use async_graphql::{ContextSelectionSet, Name, Positioned, ScalarType, Value, Variables};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::models::post::Post as PostRow;
use crate::db::models::reply::Reply as ReplyRow;
use crate::db::pagination::Keyset;
use crate::graphql::connection::PageRequest;
use crate::graphql::user::User;

/// In a request's data: its response is written by the HTTP layer, which
/// writes a `Value::Binary` as the JSON text it holds.
#[derive(Debug, Clone, Copy)]
pub struct RawJson;

/// What a page of posts needs beyond its rows, loaded with it.
pub struct PageData<'a> {
    pub page: &'a PageRequest,
    pub rows: &'a [PostRow],
    pub liked: &'a HashMap<Uuid, bool>,
    pub first_replies: &'a HashMap<(Uuid, i64), Vec<ReplyRow>>,
    pub users: &'a HashMap<Uuid, Arc<User>>,
}

/// The page's JSON, when its selection is plain, the field is the request's
/// only root field with its response key, and everything selected was loaded
/// with the page; `None` otherwise.
pub fn write_page(
    ctx: &ContextSelectionSet<'_>,
    field: &Positioned<Field>,
    data: &PageData<'_>,
) -> Option<Vec<u8>> {
    ctx.data_opt::<RawJson>()?;
    if !alone_at_root(ctx, field) {
        return None;
    }
    let planner = Planner {
        variables: &ctx.query_env.variables,
        definitions: &ctx.query_env.operation.node.variable_definitions,
    };
    let plan = planner.connection(ctx.item, Planner::post)?;
    // A selection left empty by `@skip`/`@include` (async-graphql removes
    // those fields before execution) is answered `Value::Null`, which the
    // HTTP layer reads as such (a 503 retry looks for it); text "null" it would not.
    if plan.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(1024 + 640 * data.rows.len());
    let size = usize::try_from(data.page.size).ok()?;
    let rows = &data.rows[..data.rows.len().min(size)];
    let has_next = data.rows.len() > size;
    write_connection(
        &mut out,
        &plan,
        &Names::POSTS,
        rows,
        data.page.after.is_some(),
        has_next,
        PostRow::keyset,
        |out, fields, row| write_post(out, fields, row, data),
    )?;
    Some(out)
}

/// Whether `field` is a root field no other root selection shares a response
/// key with: selected twice, async-graphql merges the two answers, which a
/// written page cannot take part in.
fn alone_at_root(ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> bool {
    let is_root = ctx
        .path_node
        .as_ref()
        .is_some_and(|node| node.parent.is_none());
    let key = field.node.response_key();
    is_root
        && ctx
            .query_env
            .operation
            .node
            .selection_set
            .node
            .items
            .iter()
            .all(|selection| match &selection.node {
                Selection::Field(other) => {
                    std::ptr::eq(&other.node, &field.node)
                        || other.node.response_key().node != key.node
                }
                Selection::FragmentSpread(_) | Selection::InlineFragment(_) => false,
            })
}

/// A selection, each field with its response key.
type Plan<'a, F> = Vec<(&'a str, F)>;

enum ConnectionField<'a, F> {
    Typename,
    PageInfo(Plan<'a, PageInfoField>),
    Edges(Plan<'a, EdgeField<'a, F>>),
    Nodes(Plan<'a, F>),
}

enum PageInfoField {
    Typename,
    HasPreviousPage,
    HasNextPage,
    StartCursor,
    EndCursor,
}

enum EdgeField<'a, F> {
    Typename,
    Cursor,
    Node(Plan<'a, F>),
}

enum PostField<'a> {
    Typename,
    Id,
    Title,
    Content,
    Status,
    Author(Plan<'a, UserField>),
    LikeCount,
    LikedByMe,
    ReplyCount,
    Replies(i64, Plan<'a, ConnectionField<'a, ReplyField<'a>>>),
    CreatedAt,
    UpdatedAt,
}

enum ReplyField<'a> {
    Typename,
    Id,
    Content,
    Author(Plan<'a, UserField>),
    CreatedAt,
    UpdatedAt,
}

enum UserField {
    Typename,
    Id,
    Name,
    Image,
}

/// Turns selections into plans; `None` for anything it does not answer.
struct Planner<'a> {
    variables: &'a Variables,
    definitions: &'a [Positioned<VariableDefinition>],
}

impl<'a> Planner<'a> {
    /// Each field of `set` planned by `each` (its name, then the field), if
    /// every selection is a field without directives and no response key
    /// comes twice.
    fn plan<F>(
        &self,
        set: &'a Positioned<SelectionSet>,
        mut each: impl FnMut(&Self, &str, &'a Field) -> Option<F>,
    ) -> Option<Plan<'a, F>> {
        let mut plan: Plan<'a, F> = Vec::with_capacity(set.node.items.len());
        for selection in &set.node.items {
            let Selection::Field(field) = &selection.node else {
                return None;
            };
            if !field.node.directives.is_empty() {
                return None;
            }
            let key = field.node.response_key().node.as_str();
            if plan.iter().any(|(seen, _)| *seen == key) {
                return None;
            }
            plan.push((key, each(self, field.node.name.node.as_str(), &field.node)?));
        }
        Some(plan)
    }

    fn connection<F>(
        &self,
        set: &'a Positioned<SelectionSet>,
        node: fn(&Self, &'a Positioned<SelectionSet>) -> Option<Plan<'a, F>>,
    ) -> Option<Plan<'a, ConnectionField<'a, F>>> {
        self.plan(set, |planner, name, field| {
            Some(match name {
                "__typename" => ConnectionField::Typename,
                "pageInfo" => ConnectionField::PageInfo(planner.page_info(&field.selection_set)?),
                "edges" => ConnectionField::Edges(planner.plan(
                    &field.selection_set,
                    |planner, name, field| {
                        Some(match name {
                            "__typename" => EdgeField::Typename,
                            "cursor" => EdgeField::Cursor,
                            "node" => EdgeField::Node(node(planner, &field.selection_set)?),
                            _ => return None,
                        })
                    },
                )?),
                "nodes" => ConnectionField::Nodes(node(planner, &field.selection_set)?),
                _ => return None,
            })
        })
    }

    fn page_info(&self, set: &'a Positioned<SelectionSet>) -> Option<Plan<'a, PageInfoField>> {
        self.plan(set, |_, name, _| {
            Some(match name {
                "__typename" => PageInfoField::Typename,
                "hasPreviousPage" => PageInfoField::HasPreviousPage,
                "hasNextPage" => PageInfoField::HasNextPage,
                "startCursor" => PageInfoField::StartCursor,
                "endCursor" => PageInfoField::EndCursor,
                _ => return None,
            })
        })
    }

    fn post(&self, set: &'a Positioned<SelectionSet>) -> Option<Plan<'a, PostField<'a>>> {
        self.plan(set, |planner, name, field| {
            Some(match name {
                "__typename" => PostField::Typename,
                "id" => PostField::Id,
                "title" => PostField::Title,
                "content" => PostField::Content,
                "status" => PostField::Status,
                "author" => PostField::Author(planner.user(&field.selection_set)?),
                "likeCount" => PostField::LikeCount,
                "likedByMe" => PostField::LikedByMe,
                "replyCount" => PostField::ReplyCount,
                "replies" => PostField::Replies(
                    planner.first_page(field)?,
                    planner.connection(&field.selection_set, Self::reply)?,
                ),
                "createdAt" => PostField::CreatedAt,
                "updatedAt" => PostField::UpdatedAt,
                _ => return None,
            })
        })
    }

    fn reply(&self, set: &'a Positioned<SelectionSet>) -> Option<Plan<'a, ReplyField<'a>>> {
        self.plan(set, |planner, name, field| {
            Some(match name {
                "__typename" => ReplyField::Typename,
                "id" => ReplyField::Id,
                "content" => ReplyField::Content,
                "author" => ReplyField::Author(planner.user(&field.selection_set)?),
                "createdAt" => ReplyField::CreatedAt,
                "updatedAt" => ReplyField::UpdatedAt,
                _ => return None,
            })
        })
    }

    /// The fields of a user a page loads with it (a card's).
    fn user(&self, set: &'a Positioned<SelectionSet>) -> Option<Plan<'a, UserField>> {
        self.plan(set, |_, name, _| {
            Some(match name {
                "__typename" => UserField::Typename,
                "id" => UserField::Id,
                "name" => UserField::Name,
                "image" => UserField::Image,
                _ => return None,
            })
        })
    }

    /// The rows a first page of `field` (a connection with `first` and
    /// `after`) fetches; `None` when it asks for a later page or its `first`
    /// is refused (the field's own resolver reports why).
    fn first_page(&self, field: &Field) -> Option<i64> {
        let mut first = None;
        for (name, value) in &field.arguments {
            let value = value
                .node
                .clone()
                .into_const_with(|variable| self.variable(&variable).ok_or(()))
                .ok()?;
            match (name.node.as_str(), value) {
                ("after", Value::Null) | ("first", Value::Null) => {}
                ("first", Value::Number(n)) => first = Some(i32::try_from(n.as_i64()?).ok()?),
                _ => return None,
            }
        }
        PageRequest::parse(first, None)
            .ok()
            .map(|page| page.fetch())
    }

    /// A variable's value as async-graphql reads it: as sent, else its default.
    fn variable(&self, name: &Name) -> Option<Value> {
        self.variables.get(name).cloned().or_else(|| {
            self.definitions
                .iter()
                .find(|definition| definition.node.name.node == *name)
                .and_then(|definition| definition.node.default_value())
                .cloned()
        })
    }
}

/// The `__typename`s of a connection's types.
struct Names {
    connection: &'static str,
    edge: &'static str,
}

impl Names {
    const POSTS: Self = Self {
        connection: "PostConnection",
        edge: "PostEdge",
    };
    const REPLIES: Self = Self {
        connection: "ReplyConnection",
        edge: "ReplyEdge",
    };
}

/// Writes a connection of `rows` (already cut to the page's size) as
/// async-graphql's `Connection` answers; `None` when a node cannot be written.
#[allow(clippy::too_many_arguments)]
fn write_connection<R, F>(
    out: &mut Vec<u8>,
    plan: &Plan<'_, ConnectionField<'_, F>>,
    names: &Names,
    rows: &[R],
    has_previous: bool,
    has_next: bool,
    keyset: fn(&R) -> Keyset,
    node: impl Fn(&mut Vec<u8>, &Plan<'_, F>, &R) -> Option<()>,
) -> Option<()> {
    object(out, plan, |out, field| {
        match field {
            ConnectionField::Typename => string(out, names.connection),
            ConnectionField::PageInfo(fields) => object(out, fields, |out, field| {
                match field {
                    PageInfoField::Typename => string(out, "PageInfo"),
                    PageInfoField::HasPreviousPage => boolean(out, has_previous),
                    PageInfoField::HasNextPage => boolean(out, has_next),
                    PageInfoField::StartCursor => cursor(out, rows.first().map(keyset)),
                    PageInfoField::EndCursor => cursor(out, rows.last().map(keyset)),
                }
                Some(())
            })?,
            ConnectionField::Edges(fields) => list(out, rows, |out, row| {
                object(out, fields, |out, field| {
                    match field {
                        EdgeField::Typename => string(out, names.edge),
                        EdgeField::Cursor => cursor(out, Some(keyset(row))),
                        EdgeField::Node(fields) => node(out, fields, row)?,
                    }
                    Some(())
                })
            })?,
            ConnectionField::Nodes(fields) => list(out, rows, |out, row| node(out, fields, row))?,
        }
        Some(())
    })
}

fn write_post(
    out: &mut Vec<u8>,
    plan: &Plan<'_, PostField<'_>>,
    post: &PostRow,
    data: &PageData<'_>,
) -> Option<()> {
    object(out, plan, |out, field| {
        match field {
            PostField::Typename => string(out, "Post"),
            PostField::Id => id(out, post.id),
            PostField::Title => string(out, &post.title),
            PostField::Content => string(out, &post.content),
            PostField::Status => {
                let Value::Enum(name) = async_graphql::resolver_utils::enum_value(post.status)
                else {
                    return None;
                };
                string(out, &name);
            }
            PostField::Author(fields) => write_user(out, fields, data.users.get(&post.author_id)?),
            PostField::LikeCount => number(out, post.like_count),
            PostField::LikedByMe => boolean(out, *data.liked.get(&post.id)?),
            PostField::ReplyCount => number(out, post.reply_count),
            PostField::Replies(fetch, fields) => {
                let rows = data.first_replies.get(&(post.id, *fetch))?;
                let size = usize::try_from(*fetch - 1).ok()?;
                write_connection(
                    out,
                    fields,
                    &Names::REPLIES,
                    &rows[..rows.len().min(size)],
                    false,
                    rows.len() > size,
                    ReplyRow::keyset,
                    |out, fields, reply| write_reply(out, fields, reply, data),
                )?;
            }
            PostField::CreatedAt => date_time(out, &post.created_at),
            PostField::UpdatedAt => date_time(out, &post.updated_at),
        }
        Some(())
    })
}

fn write_reply(
    out: &mut Vec<u8>,
    plan: &Plan<'_, ReplyField<'_>>,
    reply: &ReplyRow,
    data: &PageData<'_>,
) -> Option<()> {
    object(out, plan, |out, field| {
        match field {
            ReplyField::Typename => string(out, "Reply"),
            ReplyField::Id => id(out, reply.id),
            ReplyField::Content => string(out, &reply.content),
            ReplyField::Author(fields) => {
                write_user(out, fields, data.users.get(&reply.author_id)?)
            }
            ReplyField::CreatedAt => date_time(out, &reply.created_at),
            ReplyField::UpdatedAt => date_time(out, &reply.updated_at),
        }
        Some(())
    })
}

fn write_user(out: &mut Vec<u8>, plan: &Plan<'_, UserField>, user: &User) {
    // A user's card fields cannot fail: the closure always answers.
    let _ = object(out, plan, |out, field| {
        match field {
            UserField::Typename => string(out, "User"),
            UserField::Id => id(out, user.id),
            UserField::Name => optional_string(out, user.name.as_deref()),
            UserField::Image => optional_string(out, user.image.as_deref()),
        }
        Some(())
    });
}

/// `{"key":value,…}` in the plan's order. An empty selection answers `null`,
/// as async-graphql does.
fn object<F>(
    out: &mut Vec<u8>,
    plan: &Plan<'_, F>,
    mut value: impl FnMut(&mut Vec<u8>, &F) -> Option<()>,
) -> Option<()> {
    if plan.is_empty() {
        out.extend_from_slice(b"null");
        return Some(());
    }
    out.push(b'{');
    for (index, (key, field)) in plan.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        // Response keys are GraphQL names: nothing in them needs escaping.
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        value(out, field)?;
    }
    out.push(b'}');
    Some(())
}

fn list<R>(
    out: &mut Vec<u8>,
    rows: &[R],
    mut item: impl FnMut(&mut Vec<u8>, &R) -> Option<()>,
) -> Option<()> {
    out.push(b'[');
    for (index, row) in rows.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        item(out, row)?;
    }
    out.push(b']');
    Some(())
}

fn string(out: &mut Vec<u8>, text: &str) {
    // Writing into a Vec cannot fail, and a str always serialises.
    let _ = serde_json::to_writer(&mut *out, text);
}

fn optional_string(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => string(out, text),
        None => out.extend_from_slice(b"null"),
    }
}

fn id(out: &mut Vec<u8>, id: Uuid) {
    out.push(b'"');
    out.extend_from_slice(
        id.hyphenated()
            .encode_lower(&mut Uuid::encode_buffer())
            .as_bytes(),
    );
    out.push(b'"');
}

fn number(out: &mut Vec<u8>, n: i32) {
    let _ = write!(out, "{n}");
}

fn boolean(out: &mut Vec<u8>, value: bool) {
    out.extend_from_slice(if value { b"true" } else { b"false" });
}

fn cursor(out: &mut Vec<u8>, keyset: Option<Keyset>) {
    match keyset {
        Some(keyset) => string(out, &keyset.encode()),
        None => out.extend_from_slice(b"null"),
    }
}

/// A timestamp as the `DateTime` scalar writes it.
fn date_time(out: &mut Vec<u8>, at: &DateTime<Utc>) {
    match at.to_value() {
        Value::String(text) => string(out, &text),
        other => {
            let _ = serde_json::to_writer(&mut *out, &other);
        }
    }
}

/// How many bytes of `value` are pages written by [`write_page`].
pub fn written_len(value: &Value) -> usize {
    match value {
        Value::Binary(json) => json.len(),
        Value::List(items) => items.iter().map(written_len).sum(),
        Value::Object(fields) => fields.values().map(written_len).sum(),
        _ => 0,
    }
}

/// Writes `value` as JSON (what serde_json writes for it), taking a
/// `Value::Binary` as JSON text written by [`write_page`].
pub fn write_value(out: &mut Vec<u8>, value: &Value) -> serde_json::Result<()> {
    match value {
        Value::Binary(json) => out.extend_from_slice(json),
        Value::List(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_value(out, item)?;
            }
            out.push(b']');
        }
        Value::Object(fields) => {
            out.push(b'{');
            for (index, (key, item)) in fields.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, key.as_str())?;
                out.push(b':');
                write_value(out, item)?;
            }
            out.push(b'}');
        }
        other => serde_json::to_writer(&mut *out, other)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;
    use async_graphql::parser::types::{DocumentOperations, ExecutableDocument};

    fn document(query: &str) -> ExecutableDocument {
        parse_query(query).expect("a document")
    }

    /// Whether the selection of the operation's first root field would be written.
    fn plans(query: &str, variables: serde_json::Value) -> bool {
        let doc = document(query);
        let DocumentOperations::Single(operation) = &doc.operations else {
            panic!("one operation");
        };
        let Selection::Field(field) = &operation.node.selection_set.node.items[0].node else {
            panic!("a field");
        };
        let variables = Variables::from_json(variables);
        let planner = Planner {
            variables: &variables,
            definitions: &operation.node.variable_definitions,
        };
        planner
            .connection(&field.node.selection_set, Planner::post)
            .is_some()
    }

    #[test]
    fn plain_selections_are_planned_and_nothing_else() {
        let plain = [
            "{ feed { edges { node { id title author { id name } likeCount likedByMe replyCount replies(first: 3) { edges { node { id content author { id name } } } } } } } }",
            "{ feed { __typename pageInfo { hasNextPage endCursor } nodes { a: id b: title status createdAt updatedAt } } }",
            "query($r: Int = 2) { feed { edges { node { replies(first: $r, after: null) { nodes { id } } } } } }",
        ];
        for query in plain {
            assert!(plans(query, serde_json::json!({})), "{query}");
        }
        let not_plain = [
            // A fragment, a directive, a key twice, a field beyond the page's types.
            "{ feed { ... on PostConnection { nodes { id } } } }",
            "{ feed { nodes { id @include(if: true) } } }",
            "{ feed { nodes { id id } } }",
            "{ feed { nodes { author { email } } } }",
            "{ feed { nodes { replies { nodes { post { id } } } } } }",
            // A later page of replies, a refused size, an undeclared variable.
            "{ feed { nodes { replies(after: \"x\") { nodes { id } } } } }",
            "{ feed { nodes { replies(first: -1) { nodes { id } } } } }",
            "{ feed { nodes { replies(first: $r) { nodes { id } } } } }",
        ];
        for query in not_plain {
            assert!(!plans(query, serde_json::json!({})), "{query}");
        }
        // A variable is read as async-graphql reads it: a nullable one
        // without a value is null.
        let query = "query($r: Int) { feed { nodes { replies(first: $r) { nodes { id } } } } }";
        assert!(plans(query, serde_json::json!({ "r": 5 })));
        assert!(plans(query, serde_json::json!({})));
        assert!(!plans(query, serde_json::json!({ "r": -1 })));
    }

    #[test]
    fn values_are_written_as_serde_json_writes_them_and_binaries_as_their_text() {
        let value = Value::from_json(serde_json::json!({
            "a": [1, -2.5, "x\"y\n\u{1}é🌱", null, true, { "b": {} }],
            "c": []
        }))
        .expect("a value");
        let mut out = Vec::new();
        write_value(&mut out, &value).expect("writable");
        assert_eq!(out, serde_json::to_vec(&value).expect("serializable"));
        let mut out = Vec::new();
        let page = Value::List(vec![Value::Binary(br#"{"raw":[1]}"#.to_vec().into())]);
        write_value(&mut out, &page).expect("writable");
        assert_eq!(out, br#"[{"raw":[1]}]"#);
    }
}
