//! Writing GraphQL responses over HTTP: the media type the client asked for,
//! the status code the GraphQL-over-HTTP spec gives each outcome, and no
//! `data` entry when execution never began.
//!
//! A request error (the body or URL is malformed, the document does not parse
//! or validate, a variable does not coerce, a limit refuses it) is raised
//! before execution, so the response has no `data` (GraphQL spec, "Response
//! Format") and, in `application/graphql-response+json`, status 400. Once
//! execution began, `data` is present, even `null` after a field error reached
//! the root, and the status is 200: such a response is a partial result, not
//! a request error.

use async_graphql::{BatchResponse, ErrorExtensionValues, Response, ServerError, Value};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;

use crate::error::{AppError, codes};
use crate::graphql::direct;
use crate::http::{request_id, unavailable};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// True when the request's `Accept` lists `media` (parameters and q-values aside).
pub fn accepts(headers: &HeaderMap, media: &str) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            item.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case(media))
        })
}

/// An error with `extensions.code` set.
pub fn coded_error(message: &str, code: &str) -> ServerError {
    let mut err = ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", code);
    err.extensions = Some(extensions);
    err
}

/// The media type of the response, from the request's `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMedia {
    /// `application/json`: every GraphQL result is a 200.
    Json,
    /// `application/graphql-response+json`: request errors are 4xx.
    GraphQlResponse,
}

impl ResponseMedia {
    /// The media type a request asked for; `application/json` unless it
    /// lists `application/graphql-response+json`.
    pub fn negotiate(headers: &HeaderMap) -> Self {
        if accepts(headers, GRAPHQL_RESPONSE_JSON) {
            Self::GraphQlResponse
        } else {
            Self::Json
        }
    }

    fn content_type(self) -> HeaderValue {
        match self {
            Self::Json => HeaderValue::from_static("application/json; charset=utf-8"),
            Self::GraphQlResponse => {
                HeaderValue::from_static("application/graphql-response+json; charset=utf-8")
            }
        }
    }

    /// The HTTP response for an executed (or refused) request.
    pub fn respond(self, mut response: BatchResponse) -> axum::response::Response {
        let status = match &mut response {
            BatchResponse::Single(single) => {
                annotate(single);
                self.status_of(single)
            }
            // Each operation of a batch carries its own errors; only a batch
            // refused whole for want of the database is worth retrying whole.
            BatchResponse::Batch(responses) => {
                responses.iter_mut().for_each(annotate);
                if !responses.is_empty() && responses.iter().all(refused_as_unavailable) {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        };
        let written = match &response {
            BatchResponse::Single(single) => direct::written_len(&single.data),
            BatchResponse::Batch(all) => all.iter().map(|one| direct::written_len(&one.data)).sum(),
        };
        // Room for the written pages up front: a 30 KB page is not copied
        // again each time the body's buffer doubles.
        let mut body = Vec::with_capacity(1024 + written);
        let written = WireBatch(&response).write(&mut body);
        let mut http = self.json(status, written.map(|()| body));
        for (name, value) in response.http_headers_iter() {
            http.headers_mut().append(name, value);
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            unavailable::mark(&mut http);
        }
        http
    }

    fn status_of(self, response: &Response) -> StatusCode {
        if refused_as_unavailable(response) {
            StatusCode::SERVICE_UNAVAILABLE
        } else if is_internal_only(response) {
            StatusCode::INTERNAL_SERVER_ERROR
        } else if self == Self::GraphQlResponse && !was_executed(response) {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        }
    }

    /// A failure before execution (e.g. the session lookup), as a coded error.
    pub fn app_error(self, err: AppError) -> axum::response::Response {
        let status = match err {
            AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        let mut error = coded_error(err.message(), err.code());
        if let (AppError::ServiceUnavailable, Some(extensions)) = (&err, &mut error.extensions) {
            extensions.set("retryAfter", crate::error::RETRY_AFTER_SECS);
        }
        let mut response = Response::from_errors(vec![error]);
        annotate(&mut response);
        let mut http = self.json(status, written(&response));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            unavailable::mark(&mut http);
        }
        http
    }

    /// A request refused before execution with `status` and a coded error.
    pub fn error(self, status: StatusCode, message: &str) -> axum::response::Response {
        let code = match status {
            StatusCode::INTERNAL_SERVER_ERROR => codes::INTERNAL_SERVER_ERROR,
            _ => codes::BAD_USER_INPUT,
        };
        let mut response = Response::from_errors(vec![coded_error(message, code)]);
        annotate(&mut response);
        self.json(status, written(&response))
    }

    fn json(
        self,
        status: StatusCode,
        body: serde_json::Result<Vec<u8>>,
    ) -> axum::response::Response {
        match body {
            Ok(bytes) => {
                (status, [(header::CONTENT_TYPE, self.content_type())], bytes).into_response()
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot serialize a GraphQL response");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

/// One response's JSON.
fn written(response: &Response) -> serde_json::Result<Vec<u8>> {
    let mut body = Vec::with_capacity(256);
    Wire(response).write(&mut body)?;
    Ok(body)
}

/// Gives every error of `response` the request's id and counts it by code.
fn annotate(response: &mut Response) {
    for err in &mut response.errors {
        request_id::stamp(err);
        if let Some(Value::String(code)) = err.extensions.as_ref().and_then(|ext| ext.get("code")) {
            crate::metrics::graphql_error(code);
        }
    }
}

/// True when an operation produced nothing because the database could not be
/// reached: it carries SERVICE_UNAVAILABLE and no root field has a value, so
/// running it again is the whole remedy.
pub fn refused_as_unavailable(response: &Response) -> bool {
    let unreachable = response.errors.iter().any(|err| {
        err.extensions
            .as_ref()
            .and_then(|ext| ext.get("code"))
            .is_some_and(|code| *code == Value::from(codes::SERVICE_UNAVAILABLE))
    });
    let produced_nothing = match &response.data {
        Value::Null => true,
        Value::Object(fields) => fields.values().all(|value| *value == Value::Null),
        _ => false,
    };
    unreachable && produced_nothing
}

/// A response that failed as a whole for an internal reason (e.g. a panic).
pub fn is_internal_only(response: &Response) -> bool {
    !was_executed(response)
        && response.errors.iter().all(|err| {
            err.extensions
                .as_ref()
                .and_then(|ext| ext.get("code"))
                .is_some_and(|code| *code == Value::from(codes::INTERNAL_SERVER_ERROR))
        })
}

/// False when the response only reports errors raised before execution:
/// those carry no path, while a field error always names its field.
pub fn was_executed(response: &Response) -> bool {
    response.data != Value::Null
        || response.errors.is_empty()
        || response.errors.iter().any(|err| !err.path.is_empty())
}

/// One response as the spec writes it: without `data` before execution.
struct Wire<'a>(&'a Response);

impl Wire<'_> {
    /// The response's JSON, in async-graphql's order (`data`, `extensions`,
    /// `errors`; before execution `errors`, then `extensions`), with a page
    /// written by [`direct`] taken as the JSON it holds.
    fn write(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let response = self.0;
        let mut entries = Entries::open(out);
        if was_executed(response) {
            direct::write_value(entries.key("data"), &response.data)?;
            if !response.extensions.is_empty() {
                serde_json::to_writer(entries.key("extensions"), &response.extensions)?;
            }
            if !response.errors.is_empty() {
                serde_json::to_writer(entries.key("errors"), &response.errors)?;
            }
        } else {
            serde_json::to_writer(entries.key("errors"), &response.errors)?;
            if !response.extensions.is_empty() {
                serde_json::to_writer(entries.key("extensions"), &response.extensions)?;
            }
        }
        entries.close();
        Ok(())
    }
}

/// A JSON object being written, entry by entry.
struct Entries<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Entries<'a> {
    fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, empty: true }
    }

    /// Writes `"key":` (a key that needs no escaping); the value comes next.
    fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

/// A batch's responses, each as [`Wire`] writes it.
struct WireBatch<'a>(&'a BatchResponse);

impl WireBatch<'_> {
    fn write(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        match self.0 {
            BatchResponse::Single(response) => Wire(response).write(out),
            BatchResponse::Batch(responses) => {
                out.push(b'[');
                for (index, response) in responses.iter().enumerate() {
                    if index > 0 {
                        out.push(b',');
                    }
                    Wire(response).write(out)?;
                }
                out.push(b']');
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::PathSegment;

    fn body(media: ResponseMedia, response: Response) -> (StatusCode, serde_json::Value) {
        let status = media.status_of(&response);
        let json = serde_json::from_slice(&written(&response).expect("writable")).expect("JSON");
        (status, json)
    }

    #[test]
    fn request_errors_carry_no_data() {
        let refused = || Response::from_errors(vec![coded_error("bad", codes::BAD_USER_INPUT)]);
        let (status, json) = body(ResponseMedia::GraphQlResponse, refused());
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(json.get("data").is_none(), "{json}");
        assert_eq!(json["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

        let (status, json) = body(ResponseMedia::Json, refused());
        assert_eq!(status, StatusCode::OK);
        assert!(json.get("data").is_none(), "{json}");
    }

    #[test]
    fn a_field_error_that_nulls_the_root_is_a_partial_result() {
        let mut err = coded_error("no", codes::UNAUTHENTICATED);
        err.path = vec![PathSegment::Field("signIn".into())];
        let (status, json) = body(
            ResponseMedia::GraphQlResponse,
            Response::from_errors(vec![err]),
        );
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json.get("data"), Some(&serde_json::Value::Null), "{json}");
    }

    #[test]
    fn an_internal_failure_is_a_500() {
        let response =
            Response::from_errors(vec![coded_error("internal", codes::INTERNAL_SERVER_ERROR)]);
        assert!(is_internal_only(&response));
        assert_eq!(
            ResponseMedia::Json.status_of(&response),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn an_unreachable_database_is_a_503_unless_something_was_produced() {
        let unavailable = || {
            let mut err = coded_error("later", codes::SERVICE_UNAVAILABLE);
            err.path = vec![PathSegment::Field("feed".into())];
            err
        };
        let refused = Response::from_errors(vec![unavailable()]);
        assert_eq!(
            ResponseMedia::Json.status_of(&refused),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let mut partial = Response::new(
            Value::from_json(serde_json::json!({ "me": { "id": "1" }, "feed": null })).unwrap(),
        );
        partial.errors.push(unavailable());
        assert_eq!(ResponseMedia::Json.status_of(&partial), StatusCode::OK);
    }

    #[test]
    fn the_media_type_follows_accept() {
        let mut headers = HeaderMap::new();
        assert_eq!(ResponseMedia::negotiate(&headers), ResponseMedia::Json);
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/graphql-response+json, application/json;q=0.9"),
        );
        assert_eq!(
            ResponseMedia::negotiate(&headers),
            ResponseMedia::GraphQlResponse
        );
    }
}
