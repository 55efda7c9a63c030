//! Loading trusted documents: every manifest entry is checked against the
//! schema (validation, limits and admission rules) without being executed,
//! so a manifest that a deploy would refuse at run time stops the start.
//!
//! async-graphql validates only on the way to executing, so documents go
//! through a copy of the schema whose `execute` hook answers without
//! running anything: parsing, validation and the limits apply as in a real
//! request, and no resolver (nor a subscription stream) ever starts.

use std::path::Path;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute};
use async_graphql::parser::types::{BaseType, DocumentOperations, OperationDefinition};
use async_graphql::{Request, Response, Value, Variables};
use async_graphql_value::ConstValue;

use crate::config::DocumentConfig;
use crate::documents::{DocumentHash, DocumentStore, Manifest, ManifestError};
use crate::graphql::{AppSchema, admission, builder};

/// The store `config` describes, every manifest entry checked.
pub async fn load(config: &DocumentConfig) -> Result<DocumentStore, ManifestError> {
    let manifest = match &config.trusted_documents {
        Some(path) => load_manifest(path).await?,
        None if config.trusted_documents_only => return Err(ManifestError::OnlyWithoutManifest),
        None => Manifest::default(),
    };
    let apq_bytes = usize::try_from(config.apq_cache_bytes).unwrap_or(usize::MAX);
    Ok(DocumentStore::new(
        manifest,
        config.trusted_documents_only,
        apq_bytes,
    ))
}

/// Reads the manifest at `path` and checks each entry against the schema.
pub async fn load_manifest(path: &Path) -> Result<Manifest, ManifestError> {
    let manifest = Manifest::load(path)?;
    let schema = validating_schema();
    // Sorted, so the first bad entry reported is always the same one.
    let mut entries: Vec<_> = manifest.iter().collect();
    entries.sort_by_key(|(hash, _)| *hash);
    for (hash, document) in entries {
        check(&schema, hash, document).await?;
    }
    Ok(manifest)
}

/// Validates every operation of `document` as a request would be.
async fn check(
    schema: &AppSchema,
    hash: &DocumentHash,
    document: &str,
) -> Result<(), ManifestError> {
    let parsed = async_graphql::parser::parse_query(document)
        .map_err(|err| ManifestError::invalid(hash, &err.to_string()))?;
    let operations: Vec<(Option<String>, Variables)> = match &parsed.operations {
        DocumentOperations::Single(operation) => vec![(None, stand_ins(&operation.node))],
        DocumentOperations::Multiple(operations) => operations
            .iter()
            .map(|(name, operation)| (Some(name.to_string()), stand_ins(&operation.node)))
            .collect(),
    };
    for (operation, variables) in operations {
        let mut request = Request::new(document).variables(variables);
        request.operation_name = operation;
        admission::check(&mut request)
            .map_err(|err| ManifestError::invalid(hash, err.message()))?;
        let response = schema.execute(request).await;
        if let Some(err) = response.errors.first() {
            let at = err
                .locations
                .first()
                .map(|pos| format!(" (line {}, column {})", pos.line, pos.column))
                .unwrap_or_default();
            return Err(ManifestError::invalid(
                hash,
                &format!("{}{at}", err.message),
            ));
        }
    }
    Ok(())
}

/// Values for an operation's variables, which a manifest does not have but
/// the prices do: async-graphql's complexity functions read their arguments,
/// and one that reads a variable without a value fails validation. Nullable
/// variables are `null`, non-null scalars and lists their smallest value (so
/// a price is checked at its lowest; every request is priced again with its
/// own variables). Other non-null variables stay unset: async-graphql then
/// skips the check of their values.
fn stand_ins(operation: &OperationDefinition) -> Variables {
    let mut variables = Variables::default();
    for definition in &operation.variable_definitions {
        let definition = &definition.node;
        if definition.default_value.is_some() {
            continue;
        }
        let ty = &definition.var_type.node;
        let value = if ty.nullable {
            Some(ConstValue::Null)
        } else {
            match &ty.base {
                BaseType::List(_) => Some(ConstValue::List(Vec::new())),
                BaseType::Named(name) => match name.as_str() {
                    "Int" | "Float" => Some(ConstValue::Number(0.into())),
                    "Boolean" => Some(ConstValue::Boolean(false)),
                    "String" | "ID" => Some(ConstValue::String(String::new())),
                    _ => None,
                },
            }
        };
        if let Some(value) = value {
            variables.insert(definition.name.node.clone(), value);
        }
    }
    variables
}

/// The server's schema, with its limits, that validates and never executes.
fn validating_schema() -> AppSchema {
    builder().extension(ValidateOnly).finish()
}

/// Answers every operation that passed validation with `null`, unexecuted.
struct ValidateOnly;

impl ExtensionFactory for ValidateOnly {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ValidateOnly)
    }
}

#[async_trait::async_trait]
impl Extension for ValidateOnly {
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

    async fn verdict(document: &str) -> Result<(), ManifestError> {
        check(&validating_schema(), &DocumentHash::of(document), document).await
    }

    #[tokio::test]
    async fn valid_operations_pass_without_running() {
        // `signOut` would need a database: it is validated, never run.
        verdict("mutation Out { signOut }").await.expect("valid");
        verdict("subscription Feed { feedPostPublished { id } }")
            .await
            .expect("valid");
        verdict("query A { me { id } } query B { __typename }")
            .await
            .expect("valid");
        // Prices read `first` and `after`, which only a request has.
        verdict(
            "query F($first: Int!, $after: String, $n: Int) { feed(first: $first, after: $after) \
             { edges { node { id replies(first: $n) { edges { node { id } } } } } } }",
        )
        .await
        .expect("valid without variables");
        verdict("mutation C($i: CreatePostInput!) { createPost(input: $i) { id } }")
            .await
            .expect("valid");
        verdict("subscription R($p: ID!) { replyAdded(postId: $p) { id content } }")
            .await
            .expect("valid");
    }

    #[tokio::test]
    async fn invalid_documents_are_named() {
        let err = verdict("query Nope { noSuchField }").await.unwrap_err();
        let line = err.to_string();
        assert!(line.contains("noSuchField"), "{line}");
        assert!(line.contains(&DocumentHash::of("query Nope { noSuchField }").to_string()));
        assert!(!line.contains('\n'));
        // The HTTP admission rules apply too: 31 aliases are one too many.
        let aliases: Vec<String> = (0..31).map(|i| format!("a{i}: __typename")).collect();
        let err = verdict(&format!("{{ {} }}", aliases.join(" ")))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("aliases"), "{err}");
    }
}
