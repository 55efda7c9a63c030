//! Limits that keep one request from costing the server too much.
//!
//! async-graphql limits depth, complexity and directives itself; aliases,
//! lists and batch sizes need checks of our own (an alias multiplies the work of
//! a field without adding depth).
//!
//! Complexity prices work before it is done: a field costs 1, a connection its
//! selection once per row it may return ([`connection_cost`]), a field that
//! runs SQL of its own for each parent [`STATEMENT_COST`], a long text its
//! largest size ([`text_cost`]). With [`MAX_COMPLEXITY`] points, an accepted
//! operation can select at most 5,000,000 characters of long text and run at
//! most about 100 statements of its own; [`MAX_STATEMENTS`] is the backstop.
//!
//! A subscription's selection runs again for every event it wants, so it is
//! priced by the same model against a far lower ceiling
//! ([`MAX_SUBSCRIPTION_COMPLEXITY`]), and each such run has its own backstop
//! ([`MAX_DELIVERY_STATEMENTS`]).

use async_graphql::{ObjectType, SchemaBuilder, SubscriptionType};

/// Deepest selection nesting. GraphiQL's introspection query needs about 13.
pub const MAX_DEPTH: usize = 16;
/// Largest complexity score of one operation (connection fields count `first` times).
pub const MAX_COMPLEXITY: usize = 5_000;
/// Most aliases in one document.
pub const MAX_ALIASES: usize = 30;
/// Most entries of any list argument (the longest list the API takes has 50).
pub const MAX_LIST_ITEMS: usize = 100;
/// Most operations in one JSON-array batch.
pub const MAX_BATCH: usize = 10;
/// Most directives on one field.
pub const MAX_DIRECTIVES: usize = 8;
/// Largest `first` a connection accepts.
pub const MAX_PAGE_SIZE: i32 = 100;
/// `first` when the client gives none.
pub const DEFAULT_PAGE_SIZE: i32 = 20;
/// Complexity of a field that runs SQL statements of its own for each parent.
pub const STATEMENT_COST: usize = 50;
/// Characters of long text one complexity point pays for.
pub const TEXT_CHARS_PER_POINT: usize = 1_000;
/// Most SQL statements one HTTP request may run: a backstop behind the
/// complexity prices (the feed page runs 4).
pub const MAX_STATEMENTS: u32 = 250;

/// Largest complexity of a subscription's selection, checked when the client
/// subscribes (see [`crate::graphql::pricing`]): 3 long post texts, or a
/// page of 20 posts with their authors, but no page of pages.
pub const MAX_SUBSCRIPTION_COMPLEXITY: usize = 200;
/// Most SQL statements one run of a subscription's selection may make for one
/// event (the backstop behind [`MAX_SUBSCRIPTION_COMPLEXITY`]; a selection at
/// that price runs at most about 10).
pub const MAX_DELIVERY_STATEMENTS: u32 = 20;

/// Applies async-graphql's own limits to a schema builder (aliases and inputs
/// are checked by [`crate::graphql::admission`]).
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
}

/// The complexity of a connection field: one for the field, and its selection
/// once per row it may return (`first: 0` still runs a statement, so it pays
/// for one row). Paged with `after`, it cannot join its parent's batch and
/// runs a statement of its own for each parent (`own_statement`):
/// [`STATEMENT_COST`] more.
pub fn connection_cost(first: Option<i32>, own_statement: bool, child_complexity: usize) -> usize {
    let rows = first.map_or(DEFAULT_PAGE_SIZE, |n| n.clamp(1, MAX_PAGE_SIZE));
    let own_statement = if own_statement { STATEMENT_COST } else { 0 };
    1 + own_statement + usize::try_from(rows).unwrap_or(1) * child_complexity
}

/// The complexity of a text field of at most `max_chars` characters: one point
/// per [`TEXT_CHARS_PER_POINT`] characters (at least one).
pub const fn text_cost(max_chars: usize) -> usize {
    let points = max_chars.div_ceil(TEXT_CHARS_PER_POINT);
    if points == 0 { 1 } else { points }
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
    fn connections_pay_for_every_row_they_may_return() {
        assert_eq!(connection_cost(Some(0), false, 10), 11);
        assert_eq!(connection_cost(None, false, 10), 201);
        assert_eq!(connection_cost(Some(1000), false, 10), 1001);
        assert_eq!(connection_cost(Some(3), true, 2), 1 + STATEMENT_COST + 6);
        assert_eq!(text_cost(50_000), 50);
        assert_eq!(text_cost(10), 1);
    }

    #[test]
    fn page_size_defaults_and_caps() {
        assert_eq!(page_size(None).unwrap(), 20);
        assert_eq!(page_size(Some(5)).unwrap(), 5);
        assert_eq!(page_size(Some(1000)).unwrap(), 100);
        assert!(page_size(Some(-1)).is_err());
    }
}
