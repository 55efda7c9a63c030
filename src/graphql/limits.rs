//! Limits that keep one request from costing the server too much.
//!
//! async-graphql limits depth, complexity and directives itself; aliases and
//! batch sizes need checks of our own (an alias multiplies the work of a field
//! without adding depth).

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{
    ObjectType, SchemaBuilder, ServerError, ServerResult, SubscriptionType, Variables,
};

use crate::error::codes;

/// Deepest selection nesting. GraphiQL's introspection query needs about 13.
pub const MAX_DEPTH: usize = 16;
/// Largest complexity score of one operation (connection fields count `first` times).
pub const MAX_COMPLEXITY: usize = 5_000;
/// Most aliases in one document.
pub const MAX_ALIASES: usize = 30;
/// Most operations in one JSON-array batch.
pub const MAX_BATCH: usize = 10;
/// Most directives on one field.
pub const MAX_DIRECTIVES: usize = 8;
/// Largest `first` a connection accepts.
pub const MAX_PAGE_SIZE: i32 = 100;
/// `first` when the client gives none.
pub const DEFAULT_PAGE_SIZE: i32 = 20;

/// Applies every limit to a schema builder.
pub fn apply<Q, M, S>(builder: SchemaBuilder<Q, M, S>) -> SchemaBuilder<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    builder
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_directives(MAX_DIRECTIVES)
        .extension(AliasLimit)
}

/// Refuses documents with more than [`MAX_ALIASES`] aliases.
pub struct AliasLimit;

impl ExtensionFactory for AliasLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AliasLimit)
    }
}

#[async_trait::async_trait]
impl Extension for AliasLimit {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let aliases = count_aliases(&document);
        if aliases > MAX_ALIASES {
            let mut err = ServerError::new(
                format!("the document has {aliases} aliases; at most {MAX_ALIASES} are allowed"),
                None,
            );
            let mut extensions = async_graphql::ErrorExtensionValues::default();
            extensions.set("code", codes::BAD_USER_INPUT);
            err.extensions = Some(extensions);
            return Err(err);
        }
        Ok(document)
    }
}

fn count_aliases(document: &ExecutableDocument) -> usize {
    let operations = document
        .operations
        .iter()
        .map(|(_, op)| count_in(&op.node.selection_set.node));
    let fragments = document
        .fragments
        .values()
        .map(|f| count_in(&f.node.selection_set.node));
    operations.chain(fragments).sum()
}

fn count_in(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some()) + count_in(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => count_in(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// The page size a connection uses for the client's `first`: the default when
/// absent, BAD_USER_INPUT when negative, and capped at [`MAX_PAGE_SIZE`].
pub fn page_size(first: Option<i32>) -> crate::error::AppResult<i64> {
    match first {
        None => Ok(i64::from(DEFAULT_PAGE_SIZE)),
        Some(n) if n < 0 => Err(crate::error::AppError::bad_input(
            "first",
            "must not be negative",
        )),
        Some(n) => Ok(i64::from(n.min(MAX_PAGE_SIZE))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_counted_in_operations_and_fragments() {
        let doc = async_graphql::parser::parse_query(
            "query { a: me { id } b: me { x: id ...F } } fragment F on User { y: name }",
        )
        .unwrap();
        assert_eq!(count_aliases(&doc), 4);
    }

    #[test]
    fn page_size_defaults_and_caps() {
        assert_eq!(page_size(None).unwrap(), 20);
        assert_eq!(page_size(Some(5)).unwrap(), 5);
        assert_eq!(page_size(Some(1000)).unwrap(), 100);
        assert!(page_size(Some(-1)).is_err());
    }
}
