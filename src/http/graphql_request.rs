//! Reading GraphQL-over-HTTP request parameters from a POST body or a GET URL.
//!
//! async-graphql's own `Request` deserializer defaults a missing `query` to
//! `""`, so a body such as `{"qeury": "..."}` became a document parse error
//! (HTTP 200 for `application/json`) instead of the invalid request it is.
//! Its query-string parser also reads `operation_name`, not the spec's
//! `operationName`. Both shapes are read here with `query` required (unless
//! the request names its document by hash: `documentId` or
//! `extensions.persistedQuery`), and every malformed request is a
//! [`RequestParamsError`] (HTTP 400).

use async_graphql::{Extensions, Request, Value, Variables};
use axum::extract::Query;
use axum::http::Uri;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::documents::reference::PERSISTED_QUERY;
use crate::documents::{DocumentError, DocumentRequest, DocumentStore, Registration};
use crate::graphql::limits::MAX_BATCH;

/// A request whose parameters are not a well-formed GraphQL-over-HTTP request.
#[derive(Debug, thiserror::Error)]
pub enum RequestParamsError {
    /// The POST body is not JSON of the request's shape.
    #[error("invalid request body: {0}")]
    Body(serde_json::Error),
    /// The URL's query string is not of the request's shape.
    #[error("invalid request: {0}")]
    Url(String),
    /// Neither a document nor a document's hash.
    #[error(
        "invalid request: missing field `query` (or a documentId or extensions.persistedQuery)"
    )]
    NoQuery,
    /// A JSON-array batch with no operation.
    #[error("a batch must hold at least one operation")]
    EmptyBatch,
    /// A JSON-array batch longer than [`MAX_BATCH`].
    #[error("a batch may hold at most {MAX_BATCH} operations")]
    BatchTooLarge,
}

/// One operation as the spec spells it: `query` (or a document's hash) is
/// required, the rest optional (`null` counts as absent; `variables` and
/// `extensions` must be maps). Unknown members are ignored, as the spec allows.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    document_id: Option<String>,
    #[serde(default)]
    operation_name: Option<String>,
    #[serde(default)]
    variables: Variables,
    #[serde(default)]
    extensions: Extensions,
}

/// An operation ready to run, and the APQ registration to make if it runs.
pub struct Runnable {
    /// The operation as async-graphql runs it.
    pub request: Request,
    /// Made once the operation has been executed (its document parsed and
    /// validated), never before.
    pub registration: Option<Registration>,
}

impl Operation {
    /// The operation as async-graphql runs it, its document found in
    /// `documents` when named by hash (or refused there).
    pub fn resolve(self, documents: &DocumentStore) -> Result<Runnable, DocumentError> {
        let wanted =
            DocumentRequest::read(self.query, self.document_id.as_deref(), &self.extensions)?;
        let resolved = documents.resolve(wanted)?;
        let mut request = Request::new(resolved.document.as_ref()).variables(self.variables);
        request.operation_name = self.operation_name;
        request.extensions = self.extensions;
        Ok(Runnable {
            request,
            registration: resolved.registration,
        })
    }

    fn check(self) -> Result<Self, RequestParamsError> {
        let named = self.document_id.is_some()
            || self
                .extensions
                .get(PERSISTED_QUERY)
                .is_some_and(|value| *value != Value::Null);
        if self.query.is_none() && !named {
            return Err(RequestParamsError::NoQuery);
        }
        Ok(self)
    }
}

/// One operation, or a JSON-array batch of them.
pub enum Batch<T> {
    /// A single operation.
    Single(T),
    /// A batch of 1 to [`MAX_BATCH`] operations.
    Batch(Vec<T>),
}

impl<T> Batch<T> {
    /// The same shape with `f` applied to every operation.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Batch<U> {
        match self {
            Self::Single(item) => Batch::Single(f(item)),
            Self::Batch(items) => Batch::Batch(items.into_iter().map(f).collect()),
        }
    }

    /// Its operations.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        match self {
            Self::Single(item) => std::slice::from_ref(item).iter(),
            Self::Batch(items) => items.iter(),
        }
    }
}

/// Reads a POST body: one request object, or a JSON array of 1 to
/// [`MAX_BATCH`] of them.
pub fn from_body(body: &[u8]) -> Result<Batch<Operation>, RequestParamsError> {
    // The first byte tells a batch from a single request, so a malformed body
    // gets serde's precise message (e.g. "invalid type: map, expected a string") instead of
    // "did not match any variant" from an untagged enum.
    let is_batch = body
        .iter()
        .find(|byte| !byte.is_ascii_whitespace())
        .is_some_and(|byte| *byte == b'[');
    if !is_batch {
        let operation: Operation = parse(body)?;
        return Ok(Batch::Single(operation.check()?));
    }
    let batch: Vec<Operation> = parse(body)?;
    if batch.is_empty() {
        return Err(RequestParamsError::EmptyBatch);
    }
    if batch.len() > MAX_BATCH {
        return Err(RequestParamsError::BatchTooLarge);
    }
    Ok(Batch::Batch(
        batch
            .into_iter()
            .map(Operation::check)
            .collect::<Result<_, _>>()?,
    ))
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, RequestParamsError> {
    serde_json::from_slice(body).map_err(RequestParamsError::Body)
}

/// One request in a URL: `variables` and `extensions` are JSON strings.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UrlParams {
    query: Option<String>,
    document_id: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

/// Reads a GET request's parameters from its URL.
pub fn from_uri(uri: &Uri) -> Result<Operation, RequestParamsError> {
    let Query(params) = Query::<UrlParams>::try_from_uri(uri)
        .map_err(|rejection| RequestParamsError::Url(rejection.body_text()))?;
    Operation {
        query: params.query,
        document_id: params.document_id,
        operation_name: params.operation_name,
        variables: from_json_param("variables", params.variables.as_deref())?,
        extensions: from_json_param("extensions", params.extensions.as_deref())?,
    }
    .check()
}

/// A URL parameter that holds JSON; absent is the type's default.
fn from_json_param<T: DeserializeOwned + Default>(
    name: &str,
    text: Option<&str>,
) -> Result<T, RequestParamsError> {
    match text {
        None => Ok(T::default()),
        Some(text) => serde_json::from_str(text)
            .map_err(|err| RequestParamsError::Url(format!("invalid `{name}`: {err}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn documents() -> DocumentStore {
        DocumentStore::new(crate::documents::Manifest::default(), false, 1024)
    }

    fn single(body: &str) -> Request {
        match from_body(body.as_bytes()) {
            Ok(Batch::Single(operation)) => {
                operation.resolve(&documents()).expect("a document").request
            }
            Ok(Batch::Batch(_)) => panic!("expected one request from {body}"),
            Err(err) => panic!("expected one request from {body}: {err}"),
        }
    }

    #[test]
    fn a_full_request_is_read() {
        let request = single(
            r#"{"query":"query Q($a: Int) { a }","operationName":"Q","variables":{"a":1},"extensions":{"e":true}}"#,
        );
        assert_eq!(request.query, "query Q($a: Int) { a }");
        assert_eq!(request.operation_name.as_deref(), Some("Q"));
        assert_eq!(request.variables.len(), 1);
        assert_eq!(request.extensions.0.len(), 1);
    }

    #[test]
    fn nulls_count_as_absent() {
        let request =
            single(r#"{"query":"{ a }","operationName":null,"variables":null,"extensions":null}"#);
        assert!(request.operation_name.is_none());
        assert!(request.variables.is_empty());
    }

    #[test]
    fn malformed_parameters_are_refused() {
        for body in [
            r#"{"qeury":"{ a }"}"#,
            r#"{"query":{"obj":"ect"}}"#,
            r#"{"query":0}"#,
            r#"{"query":"{ a }","operationName":false}"#,
            r#"{"query":"{ a }","variables":"{}"}"#,
            r#"{"query":"{ a }","extensions":["array"]}"#,
            "",
            "null",
            "[]",
            "{not json",
            r#"{"query":null}"#,
            r#"{"extensions":{"other":1}}"#,
            r#"{"extensions":{"persistedQuery":null}}"#,
        ] {
            assert!(from_body(body.as_bytes()).is_err(), "{body} was accepted");
        }
    }

    #[test]
    fn a_hash_stands_for_the_query() {
        let hash = "a".repeat(64);
        for body in [
            format!(r#"{{"documentId":"sha256:{hash}"}}"#),
            format!(
                r#"{{"extensions":{{"persistedQuery":{{"version":1,"sha256Hash":"{hash}"}}}}}}"#
            ),
        ] {
            assert!(
                matches!(from_body(body.as_bytes()), Ok(Batch::Single(_))),
                "{body}"
            );
        }
    }

    #[test]
    fn batches_are_bounded() {
        let batch = |n: usize| format!("[{}]", vec![r#"{"query":"{ a }"}"#; n].join(","));
        assert!(matches!(
            from_body(batch(MAX_BATCH).as_bytes()),
            Ok(Batch::Batch(requests)) if requests.len() == MAX_BATCH
        ));
        assert!(matches!(
            from_body(batch(MAX_BATCH + 1).as_bytes()),
            Err(RequestParamsError::BatchTooLarge)
        ));
    }

    #[test]
    fn urls_use_the_spec_names() {
        let uri: Uri =
            "/graphql?query=query%20Q%20%7B%20a%20%7D&operationName=Q&variables=%7B%22x%22%3A1%7D"
                .parse()
                .expect("a valid URI");
        let request = from_uri(&uri)
            .expect("a valid request")
            .resolve(&documents())
            .expect("a document")
            .request;
        assert_eq!(request.operation_name.as_deref(), Some("Q"));
        assert_eq!(request.variables.len(), 1);
        for bad in [
            "/graphql?qeury=%7B%20a%20%7D",
            "/graphql?query=%7B%20a%20%7D&variables=nope",
            "/graphql?query=%7B%20a%20%7D&variables=%5B1%5D",
        ] {
            let uri: Uri = bad.parse().expect("a valid URI");
            assert!(from_uri(&uri).is_err(), "{bad} was accepted");
        }
    }
}
