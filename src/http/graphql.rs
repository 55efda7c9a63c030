//! GraphQL over HTTP: JSON POSTs run any operation, GETs run queries only,
//! browsers get GraphiQL.
//!
//! async-graphql-axum's own extractor would run mutations sent by GET and by
//! `text/plain` POSTs (a CSRF hole), so requests are read here instead.
//!
//! CSRF: a POST whose content type a cross-site HTML form could send
//! (`text/plain`, form, multipart, or none) runs only when it also carries a
//! header that forces a CORS preflight (see [`PREFLIGHT_HEADERS`]). Browsers
//! never send such a header cross-site without the server's CORS consent.

use std::any::Any;
use std::panic::AssertUnwindSafe;

use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{
    BatchRequest, BatchResponse, ErrorExtensionValues, Executor, Response, ServerError,
};
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse};
use futures_util::FutureExt;

use crate::app::AppState;
use crate::error::{AppError, INTERNAL_MESSAGE, codes};
use crate::graphql::limits::MAX_BATCH;
use crate::http::auth::{self, RequestAuth};
use crate::http::timeout;

const JSON: &str = "application/json";
const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// Headers a browser may only send cross-site after a CORS preflight; any of
/// them makes a non-JSON POST acceptable (Apollo's CSRF prevention uses the same rule).
pub const PREFLIGHT_HEADERS: [&str; 3] = [
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "x-requested-with",
];

/// The peer address, when the server was started with connect info.
type Peer = ConnectInfo<std::net::SocketAddr>;

/// POST /graphql: a JSON request or a JSON array of them.
pub async fn post(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> axum::response::Response {
    let media = ResponseMedia::negotiate(&headers);
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let (status, message) = timeout::body_failure(&rejection);
            return media.error(status, &message);
        }
    };
    if !is_json(&headers)
        && !PREFLIGHT_HEADERS
            .iter()
            .any(|name| headers.contains_key(*name))
    {
        if state.services.cookies.read(&headers).is_some() {
            return media.error(
                StatusCode::FORBIDDEN,
                "cross-site request refused: send application/json (or a preflighted header such as apollo-require-preflight)",
            );
        }
        return media.error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "requests must be sent as application/json",
        );
    }
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(err) => {
            return media.error(
                StatusCode::BAD_REQUEST,
                &format!("invalid request body: {err}"),
            );
        }
    };
    if let BatchRequest::Batch(requests) = &batch
        && requests.len() > MAX_BATCH
    {
        return media.error(
            StatusCode::BAD_REQUEST,
            &format!("a batch may hold at most {MAX_BATCH} operations"),
        );
    }
    let auth = match auth::authenticate(&state.services, &headers, Some(peer.0)).await {
        Ok(auth) => auth,
        Err(err) => return media.app_error(err),
    };
    let response = execute(&state.schema, with_auth(batch, &auth, &state.services.pool)).await;
    media.respond(response)
}

fn with_auth(batch: BatchRequest, auth: &RequestAuth, pool: &crate::db::DbPool) -> BatchRequest {
    let loaders = std::sync::Arc::new(crate::graphql::loaders::Loaders::new(
        pool,
        auth.viewer.user_id,
    ));
    batch
        .data(auth.viewer)
        .data(auth.origin.clone())
        .data(loaders)
}

/// GET /graphql: GraphiQL for browsers; for other clients, a query in the URL.
pub async fn get(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> axum::response::Response {
    let query = query.unwrap_or_default();
    if query.is_empty() && accepts(&headers, "text/html") {
        return Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response();
    }
    let media = ResponseMedia::negotiate(&headers);
    let request = match async_graphql::http::parse_query_string(&query) {
        Ok(request) => request,
        Err(err) => {
            return media.error(StatusCode::BAD_REQUEST, &format!("invalid request: {err}"));
        }
    };
    if !is_query_operation(&request.query, request.operation_name.as_deref()) {
        let mut response = media.error(
            StatusCode::METHOD_NOT_ALLOWED,
            "only queries may be sent by GET; send mutations by POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let auth = match auth::authenticate(&state.services, &headers, Some(peer.0)).await {
        Ok(auth) => auth,
        Err(err) => return media.app_error(err),
    };
    let response = execute(
        &state.schema,
        with_auth(BatchRequest::Single(request), &auth, &state.services.pool),
    )
    .await;
    media.respond(response)
}

/// Runs a batch; a panicking resolver becomes an INTERNAL_SERVER_ERROR response
/// instead of a dropped connection.
pub async fn execute<E: Executor>(executor: &E, batch: BatchRequest) -> BatchResponse {
    match AssertUnwindSafe(executor.execute_batch(batch))
        .catch_unwind()
        .await
    {
        Ok(BatchResponse::Single(response)) => BatchResponse::Single(with_codes(response)),
        Ok(BatchResponse::Batch(responses)) => {
            BatchResponse::Batch(responses.into_iter().map(with_codes).collect())
        }
        Err(_) => {
            tracing::error!("a resolver panicked");
            BatchResponse::Single(Response::from_errors(vec![internal_error()]))
        }
    }
}

/// Gives every error a contract code. Errors that async-graphql raises itself
/// (parse, validation, limits, variable coercion) have none: they are all
/// about the request, so they are BAD_USER_INPUT.
fn with_codes(mut response: Response) -> Response {
    for err in &mut response.errors {
        let extensions = err
            .extensions
            .get_or_insert_with(ErrorExtensionValues::default);
        if extensions.get("code").is_none() {
            extensions.set("code", codes::BAD_USER_INPUT);
        }
    }
    response
}

/// Responds to a panic outside GraphQL execution with a coded JSON error.
pub fn panic_response(_: Box<dyn Any + Send + 'static>) -> axum::http::Response<Body> {
    tracing::error!("a request handler panicked");
    ResponseMedia::Json.error(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_MESSAGE)
}

fn internal_error() -> ServerError {
    coded_error(INTERNAL_MESSAGE, codes::INTERNAL_SERVER_ERROR)
}

fn coded_error(message: &str, code: &str) -> ServerError {
    let mut err = ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", code);
    err.extensions = Some(extensions);
    err
}

/// True unless the document's selected operation is a mutation or subscription.
/// A document that does not parse counts as a query: execution reports the error.
fn is_query_operation(query: &str, operation_name: Option<&str>) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return true;
    };
    let ty = match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), _) => op.node.ty,
        (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(name) {
            Some(op) => op.node.ty,
            None => return true,
        },
        (DocumentOperations::Multiple(ops), None) => {
            // Several operations and no name: refuse if any of them writes.
            if ops.values().any(|op| op.node.ty != OperationType::Query) {
                OperationType::Mutation
            } else {
                OperationType::Query
            }
        }
    };
    ty == OperationType::Query
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(JSON))
}

fn accepts(headers: &HeaderMap, media: &str) -> bool {
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

/// The media type of the response, from the request's `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseMedia {
    /// `application/json`: every GraphQL result is a 200.
    Json,
    /// `application/graphql-response+json`: request errors are 4xx.
    GraphQlResponse,
}

impl ResponseMedia {
    fn negotiate(headers: &HeaderMap) -> Self {
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

    fn respond(self, response: BatchResponse) -> axum::response::Response {
        let status = match &response {
            BatchResponse::Single(single) if is_internal_only(single) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            BatchResponse::Single(single)
                if self == Self::GraphQlResponse
                    && single.data == async_graphql::Value::Null
                    && single.is_err() =>
            {
                StatusCode::BAD_REQUEST
            }
            _ => StatusCode::OK,
        };
        let mut http = self.json(status, &response);
        for (name, value) in response.http_headers_iter() {
            http.headers_mut().append(name, value);
        }
        http
    }

    /// A failure before execution (e.g. the session lookup), as a coded error.
    fn app_error(self, err: AppError) -> axum::response::Response {
        let status = match err {
            AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        let response = Response::from_errors(vec![coded_error(err.message(), err.code())]);
        self.json(status, &response)
    }

    fn error(self, status: StatusCode, message: &str) -> axum::response::Response {
        let code = match status {
            StatusCode::INTERNAL_SERVER_ERROR => codes::INTERNAL_SERVER_ERROR,
            _ => codes::BAD_USER_INPUT,
        };
        let response = Response::from_errors(vec![coded_error(message, code)]);
        self.json(status, &response)
    }

    fn json(self, status: StatusCode, body: &impl serde::Serialize) -> axum::response::Response {
        match serde_json::to_vec(body) {
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

/// A response that failed as a whole for an internal reason (e.g. a panic).
fn is_internal_only(response: &Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|err| {
            err.path.is_empty()
                && err
                    .extensions
                    .as_ref()
                    .and_then(|ext| ext.get("code"))
                    .is_some_and(|code| {
                        *code == async_graphql::Value::from(codes::INTERNAL_SERVER_ERROR)
                    })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

    struct Panicky;

    #[Object]
    impl Panicky {
        async fn boom(&self) -> i32 {
            "not a number".parse().expect("a resolver bug")
        }
    }

    #[tokio::test]
    async fn a_panicking_resolver_becomes_an_internal_error() {
        let schema = Schema::new(Panicky, EmptyMutation, EmptySubscription);
        let response = execute(&schema, BatchRequest::Single("{ boom }".into())).await;
        let BatchResponse::Single(response) = response else {
            panic!("expected one response")
        };
        assert!(is_internal_only(&response));
        assert_eq!(response.errors[0].message, INTERNAL_MESSAGE);
    }

    #[tokio::test]
    async fn request_errors_get_a_code() {
        let schema = Schema::new(Panicky, EmptyMutation, EmptySubscription);
        let response = execute(&schema, BatchRequest::Single("{ nope }".into())).await;
        let BatchResponse::Single(response) = response else {
            panic!("expected one response")
        };
        let code = response.errors[0]
            .extensions
            .as_ref()
            .and_then(|ext| ext.get("code"))
            .cloned();
        assert_eq!(
            code,
            Some(async_graphql::Value::from(codes::BAD_USER_INPUT))
        );
    }

    #[test]
    fn mutations_are_recognised() {
        assert!(is_query_operation("{ me { id } }", None));
        assert!(is_query_operation("query Q { me { id } }", Some("Q")));
        assert!(!is_query_operation("mutation { signOut }", None));
        assert!(!is_query_operation(
            "query Q { me { id } } mutation M { signOut }",
            Some("M")
        ));
        assert!(!is_query_operation(
            "query Q { me { id } } mutation M { signOut }",
            None
        ));
        assert!(is_query_operation("not graphql", None));
    }

    #[test]
    fn content_types() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert!(is_json(&headers));
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(!is_json(&headers));
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
