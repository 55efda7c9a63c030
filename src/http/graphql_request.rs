//! Reading GraphQL-over-HTTP request parameters from a POST body or a GET URL.
//!
//! async-graphql's own `Request` deserializer defaults a missing `query` to
//! `""`, so a body such as `{"qeury": "..."}` became a document parse error
//! (HTTP 200 for `application/json`) instead of the invalid request it is.
//! Its query-string parser also reads `operation_name`, not the spec's
//! `operationName`. Both shapes are read here with `query` required, and
//! every malformed request is a [`RequestParamsError`] (HTTP 400).

use async_graphql::{BatchRequest, Extensions, Request, Variables};
use axum::extract::Query;
use axum::http::Uri;
use serde::Deserialize;
use serde::de::DeserializeOwned;

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
    /// A JSON-array batch with no operation.
    #[error("a batch must hold at least one operation")]
    EmptyBatch,
    /// A JSON-array batch longer than [`MAX_BATCH`].
    #[error("a batch may hold at most {MAX_BATCH} operations")]
    BatchTooLarge,
}

/// One request as the spec spells it: `query` is required, the rest optional
/// (`null` counts as absent; `variables` and `extensions` must be maps).
/// Unknown members are ignored, as the spec allows.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BodyParams {
    query: String,
    #[serde(default)]
    operation_name: Option<String>,
    #[serde(default)]
    variables: Variables,
    #[serde(default)]
    extensions: Extensions,
}

impl From<BodyParams> for Request {
    fn from(params: BodyParams) -> Self {
        let mut request = Request::new(params.query).variables(params.variables);
        request.operation_name = params.operation_name;
        request.extensions = params.extensions;
        request
    }
}

/// Reads a POST body: one request object, or a JSON array of 1 to
/// [`MAX_BATCH`] of them.
pub fn from_body(body: &[u8]) -> Result<BatchRequest, RequestParamsError> {
    // The first byte tells a batch from a single request, so a malformed body
    // gets serde's precise message (e.g. "missing field `query`") instead of
    // "did not match any variant" from an untagged enum.
    let is_batch = body
        .iter()
        .find(|byte| !byte.is_ascii_whitespace())
        .is_some_and(|byte| *byte == b'[');
    if !is_batch {
        let params: BodyParams = parse(body)?;
        return Ok(BatchRequest::Single(params.into()));
    }
    let batch: Vec<BodyParams> = parse(body)?;
    if batch.is_empty() {
        return Err(RequestParamsError::EmptyBatch);
    }
    if batch.len() > MAX_BATCH {
        return Err(RequestParamsError::BatchTooLarge);
    }
    Ok(BatchRequest::Batch(
        batch.into_iter().map(Request::from).collect(),
    ))
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, RequestParamsError> {
    serde_json::from_slice(body).map_err(RequestParamsError::Body)
}

/// One request in a URL: `variables` and `extensions` are JSON strings.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UrlParams {
    query: String,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

/// Reads a GET request's parameters from its URL.
pub fn from_uri(uri: &Uri) -> Result<Request, RequestParamsError> {
    let Query(params) = Query::<UrlParams>::try_from_uri(uri)
        .map_err(|rejection| RequestParamsError::Url(rejection.body_text()))?;
    Ok(BodyParams {
        query: params.query,
        operation_name: params.operation_name,
        variables: from_json_param("variables", params.variables.as_deref())?,
        extensions: from_json_param("extensions", params.extensions.as_deref())?,
    }
    .into())
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

    fn single(body: &str) -> Request {
        match from_body(body.as_bytes()) {
            Ok(BatchRequest::Single(request)) => request,
            other => panic!("expected one request from {body}: {other:?}"),
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
        ] {
            assert!(from_body(body.as_bytes()).is_err(), "{body} was accepted");
        }
    }

    #[test]
    fn batches_are_bounded() {
        let batch = |n: usize| format!("[{}]", vec![r#"{"query":"{ a }"}"#; n].join(","));
        assert!(matches!(
            from_body(batch(MAX_BATCH).as_bytes()),
            Ok(BatchRequest::Batch(requests)) if requests.len() == MAX_BATCH
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
        let request = from_uri(&uri).expect("a valid request");
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
