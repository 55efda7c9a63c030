//! The `JSON` scalar for large documents (the data export), handed to the
//! response without a copy.

use std::borrow::Cow;
use std::sync::Mutex;

use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::{ContextSelectionSet, OutputType, Positioned, ServerResult, Value};

use crate::error::{AppError, AppResult};

/// A JSON document, parsed once into the response's own value type and moved
/// (not cloned, as `async_graphql::Json` does) into the response when resolved.
pub struct JsonDocument(Mutex<Option<Value>>);

impl JsonDocument {
    /// Parses JSON text (produced by the server itself, so a failure is internal).
    pub fn parse(text: &str) -> AppResult<Self> {
        let value: Value = serde_json::from_str(text)
            .map_err(|err| AppError::internal("a JSON document does not parse", err))?;
        Ok(Self(Mutex::new(Some(value))))
    }
}

impl OutputType for JsonDocument {
    fn type_name() -> Cow<'static, str> {
        <async_graphql::Json<serde_json::Value> as OutputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        // The same `JSON` scalar as async-graphql's own, so the schema is unchanged.
        <async_graphql::Json<serde_json::Value> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        _ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let taken = match self.0.lock() {
            Ok(mut value) => value.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        Ok(taken.unwrap_or(Value::Null))
    }
}
