//! The price of an operation by the schema's cost model (async-graphql's
//! complexity with [`crate::graphql::limits`]' prices), read without running
//! it: a subscription is priced when the client subscribes, against
//! [`MAX_SUBSCRIPTION_COMPLEXITY`], since its selection runs again for every
//! event it wants.
//!
//! async-graphql computes the complexity while validating and only says
//! whether it passed its limit; a schema extension sees the figure. The
//! extension lives on a schema of its own that validates and never executes,
//! so the per-field hooks an extension brings never slow the real one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextValidation,
};
use async_graphql::{Request, Response, ServerError, ValidationResult, Value};

use crate::error::AppError;
use crate::graphql::limits::MAX_SUBSCRIPTION_COMPLEXITY;
use crate::graphql::{AppSchema, builder};

/// Prices operations.
pub struct Pricer {
    schema: AppSchema,
}

/// Where the extension writes the price of the request it validated.
struct PriceSlot(Arc<AtomicUsize>);

/// No price was written: the document did not validate.
const UNPRICED: usize = usize::MAX;

impl Default for Pricer {
    fn default() -> Self {
        Self::new()
    }
}

impl Pricer {
    /// A pricer for the server's schema.
    pub fn new() -> Self {
        // No complexity limit here: the price is wanted whatever it is.
        let schema = builder()
            .limit_complexity(usize::MAX)
            .extension(PriceOnly)
            .finish();
        Self { schema }
    }

    /// The complexity of `request`'s operation with its variables; `None`
    /// when it does not validate (its execution then says why).
    pub async fn price(&self, request: &mut Request) -> Option<usize> {
        let slot = Arc::new(AtomicUsize::new(UNPRICED));
        let mut priced = Request::new(request.query.clone())
            .variables(request.variables.clone())
            .data(PriceSlot(slot.clone()));
        if let Some(name) = &request.operation_name {
            priced = priced.operation_name(name.clone());
        }
        if let Ok(document) = request.parsed_query() {
            priced.set_parsed_query(document.clone());
        }
        self.schema.execute(priced).await;
        match slot.load(Ordering::Relaxed) {
            UNPRICED => None,
            price => Some(price),
        }
    }

    /// BAD_USER_INPUT when `request` costs more than a subscription may.
    pub async fn check_subscription(&self, request: &mut Request) -> Result<(), AppError> {
        match self.price(request).await {
            Some(price) if price > MAX_SUBSCRIPTION_COMPLEXITY => Err(AppError::bad_input(
                "subscribe",
                format!(
                    "this subscription's selection costs {price}; a subscription may cost at most {MAX_SUBSCRIPTION_COMPLEXITY}, as it runs again for every event (select fewer rows or long texts)"
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// Writes the complexity of each validated operation into its [`PriceSlot`]
/// and answers `null` unexecuted.
struct PriceOnly;

impl ExtensionFactory for PriceOnly {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PriceOnly)
    }
}

#[async_trait::async_trait]
impl Extension for PriceOnly {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if let Some(PriceSlot(slot)) = ctx.data_opt::<PriceSlot>() {
            slot.store(result.complexity, Ordering::Relaxed);
        }
        Ok(result)
    }

    async fn execute(
        &self,
        _ctx: &ExtensionContext<'_>,
        _operation_name: Option<&str>,
        _next: NextExecute<'_>,
    ) -> Response {
        Response::new(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn price(query: &str) -> Option<usize> {
        Pricer::new().price(&mut Request::new(query)).await
    }

    #[tokio::test]
    async fn subscriptions_are_priced_by_the_query_cost_model() {
        // One point a field; a long text its size; a connection its rows.
        assert_eq!(
            price("subscription { feedPostPublished { id } }").await,
            Some(2)
        );
        assert_eq!(
            price("subscription { feedPostPublished { content } }").await,
            Some(51)
        );
        let deep = "subscription { feedPostPublished { author { posts(first: 20) { edges { node { replies(first: 10) { edges { node { author { name } } } } } } } } } }";
        assert!(price(deep).await.unwrap() > MAX_SUBSCRIPTION_COMPLEXITY);
        assert_eq!(price("subscription { nope }").await, None, "invalid");
    }
}
