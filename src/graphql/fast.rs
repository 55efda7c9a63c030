//! A cheaper way to resolve the objects a page holds by the hundred (posts,
//! replies, their authors).
//!
//! async-graphql resolves every selected field of an object as a boxed future
//! and runs them in a `FuturesUnordered`: a task allocation, a wake-up queue
//! and an `Arc` per field, even for a field that only copies a number out of
//! its row. A feed page has about 1,300 fields in 600 objects, and that
//! machinery was the largest share of the server's CPU per page (issue 23's
//! profile). [`Fast`] resolves an object's fields in order instead, polling
//! each once as it is made: a field that is ready at once (a plain value, or
//! a value already in the request's loaders) costs no task at all. Fields that
//! must wait (a statement of their own) are gathered and awaited together, so
//! they still run concurrently, and every answer keeps its place in the
//! selection's order.
//!
//! The field resolvers are the type's own (`#[Object]`), so arguments, errors
//! and their paths are exactly async-graphql's. A selection with fragments or
//! directives is left to async-graphql's own resolution. Extensions would
//! wrap each field in hooks this skips: the server's schema has none (see
//! `graphql::admission` for why), and the schemas that carry one (pricing,
//! trusted documents) never resolve a field.

use std::borrow::Cow;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::task::Poll;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::ContainerType;
use async_graphql::{ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value};

/// `T` (an `#[Object]`), resolved field by field without a task per field.
#[derive(Debug, Clone)]
pub struct Fast<T>(pub T);

impl<T> Deref for Fast<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: ContainerType + Send + Sync> OutputType for Fast<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        if !plain(ctx) {
            return self.0.resolve(ctx, field).await;
        }
        resolve_in_order(ctx, &self.0).await
    }
}

/// Whether the selection holds only fields without directives: then
/// async-graphql's resolution of each field is only `resolve_field`, which
/// [`resolve_in_order`] calls itself.
fn plain(ctx: &ContextSelectionSet<'_>) -> bool {
    ctx.item
        .node
        .items
        .iter()
        .all(|selection| match &selection.node {
            Selection::Field(field) => field.node.directives.is_empty(),
            Selection::FragmentSpread(_) | Selection::InlineFragment(_) => false,
        })
}

type FieldFuture<'a> = Pin<Box<dyn Future<Output = ServerResult<(Name, Value)>> + Send + 'a>>;

/// Resolves the fields of `ctx`'s selection on `root` as async-graphql's
/// `resolve_container` does (same values, same errors, same order), polling
/// each field once when it is made and awaiting only those not yet ready.
async fn resolve_in_order<'a, T: ContainerType + Send + Sync>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
) -> ServerResult<Value> {
    let items = &ctx.item.node.items;
    let mut answers: Vec<Option<ServerResult<(Name, Value)>>> = Vec::with_capacity(items.len());
    let mut waiting: Vec<(usize, FieldFuture<'_>)> = Vec::new();
    for selection in items {
        let Selection::Field(field) = &selection.node else {
            continue;
        };
        let mut future = resolve_one(ctx, root, field);
        let polled = std::future::poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await;
        match polled {
            Poll::Ready(answer) => answers.push(Some(answer)),
            Poll::Pending => {
                waiting.push((answers.len(), future));
                answers.push(None);
            }
        }
    }
    if !waiting.is_empty() {
        let (slots, futures): (Vec<usize>, Vec<FieldFuture<'_>>) = waiting.into_iter().unzip();
        let late = futures_util::future::join_all(futures).await;
        for (slot, answer) in slots.into_iter().zip(late) {
            answers[slot] = Some(answer);
        }
    }
    let mut results = IndexMap::with_capacity(answers.len());
    for answer in answers.into_iter().flatten() {
        match answer {
            Ok((name, value)) => insert_value(&mut results, name, value),
            Err(err) => ctx.add_error(err),
        }
    }
    if results.is_empty() {
        Ok(Value::Null)
    } else {
        Ok(Value::Object(results))
    }
}

/// One field, as async-graphql's `Fields::add_set` resolves it without
/// extensions or directives.
fn resolve_one<'a, T: ContainerType + Send + Sync>(
    ctx: &'a ContextSelectionSet<'a>,
    root: &'a T,
    field: &'a Positioned<Field>,
) -> FieldFuture<'a> {
    Box::pin(async move {
        let ctx_field = ctx.with_field(field);
        let name = ctx_field.item.node.response_key().node.clone();
        if field.node.name.node == "__typename" {
            return Ok((
                name,
                Value::String(root.introspection_type_name().into_owned()),
            ));
        }
        let value = root.resolve_field(&ctx_field).await?.unwrap_or_default();
        Ok((name, value))
    })
}

/// async-graphql's merge of a field selected twice under one response key:
/// objects merge key by key, lists item by item, anything else keeps the first.
fn insert_value(target: &mut IndexMap<Name, Value>, name: Name, value: Value) {
    let Some(previous) = target.get_mut(&name) else {
        target.insert(name, value);
        return;
    };
    match (previous, value) {
        (Value::Object(into), Value::Object(from)) => {
            for (key, value) in from {
                insert_value(into, key, value);
            }
        }
        (Value::List(into), Value::List(from)) => {
            for (index, value) in from.into_iter().enumerate() {
                if let (Some(Value::Object(into)), Value::Object(from)) =
                    (into.get_mut(index), value)
                {
                    for (key, value) in from {
                        insert_value(into, key, value);
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

    struct Leaf {
        n: i32,
    }

    #[Object]
    impl Leaf {
        async fn n(&self) -> i32 {
            self.n
        }
        async fn twice(&self) -> i32 {
            // Not ready at once: a field that waits keeps its place.
            tokio::task::yield_now().await;
            self.n * 2
        }
        async fn fails(&self) -> async_graphql::Result<i32> {
            Err("no".into())
        }
        async fn maybe(&self) -> async_graphql::Result<Option<i32>> {
            Err("no".into())
        }
        async fn child(&self) -> Leaf {
            Leaf { n: self.n + 1 }
        }
    }

    struct Root;

    #[Object]
    impl Root {
        async fn slow(&self) -> Vec<Leaf> {
            vec![Leaf { n: 1 }, Leaf { n: 2 }]
        }
        async fn fast(&self) -> Vec<Fast<Leaf>> {
            vec![Fast(Leaf { n: 1 }), Fast(Leaf { n: 2 })]
        }
    }

    /// The same selection on `slow` (async-graphql's resolution) and `fast`.
    async fn both(selection: &str) -> (serde_json::Value, serde_json::Value) {
        let schema = Schema::new(Root, EmptyMutation, EmptySubscription);
        let run = |field: &str| {
            let query = format!("{{ {field} {selection} }}");
            let schema = schema.clone();
            async move {
                let response = schema.execute(query).await;
                serde_json::to_value(&response).expect("serializable")
            }
        };
        let slow = run("slow").await;
        let fast = run("fast").await;
        let renamed = serde_json::to_string(&fast)
            .expect("serializable")
            .replace("\"fast\"", "\"slow\"");
        (slow, serde_json::from_str(&renamed).expect("json"))
    }

    #[tokio::test]
    async fn fast_objects_answer_as_async_graphql_does() {
        for selection in [
            "{ n twice __typename }",
            "{ a: n b: twice n }",
            "{ child { n } child { twice } n }",
            "{ n maybe twice }",
            "{ n fails twice }",
            "{ ... on Leaf { n } twice }",
            "{ n @include(if: true) twice @skip(if: true) }",
            "{ twice child { twice child { n } } }",
        ] {
            let (slow, fast) = both(selection).await;
            assert_eq!(slow, fast, "{selection}");
        }
    }
}
