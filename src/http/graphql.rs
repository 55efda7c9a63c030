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
use std::sync::{Arc, PoisonError};

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{
    BatchRequest, BatchResponse, ErrorExtensionValues, Executor, Request, Response, ServerError,
};
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use futures_util::FutureExt;

use crate::accounts::read_your_writes;
use crate::db::DbPool;
use crate::db::replicas::ReadTarget;
use crate::db::statement_budget::StatementBudget;
use crate::documents::DocumentError;
use crate::error::{INTERNAL_MESSAGE, codes};
use crate::graphql::context::{ReadPool, SessionsStarted};
use crate::graphql::direct::RawJson;
use crate::graphql::limits::MAX_STATEMENTS;
use crate::graphql::loaders::Loaders;
use crate::graphql::{admission, parsed};
use crate::http::AppState;
use crate::http::auth::{self, RequestAuth};
use crate::http::graphiql;
use crate::http::graphql_request::{self, Batch, Runnable};
use crate::http::graphql_response::{ResponseMedia, accepts, coded_error};
use crate::http::timeout;
use crate::metrics;
use crate::services::Services;

const JSON: &str = "application/json";

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
    let mut body = Vec::from(body);
    admission::mask_lone_surrogates(&mut body);
    let batch = match graphql_request::from_body(&body) {
        Ok(batch) => batch,
        Err(err) => return media.error(StatusCode::BAD_REQUEST, &err.to_string()),
    };
    // Before the session lookup: a refused document costs no database work.
    let batch = batch.map(|operation| operation.resolve(&state.documents));
    let auth = match auth::authenticate(&state.services, &headers, Some(peer.0)).await {
        Ok(auth) => auth,
        Err(err) => return media.app_error(err),
    };
    media.respond(run(&state, batch, &auth).await)
}

/// One operation, its document found, or why it was refused.
type Resolved = Result<Runnable, DocumentError>;

/// Executes `batch` for an authenticated request, within its statement cap;
/// refused operations answer their error. A batch of queries reads from a
/// replica when there is a fit one; if the replica fails it (it went away),
/// the batch runs again on the primary: a replica going down is never a
/// client's error.
async fn run(state: &AppState, batch: Batch<Resolved>, auth: &RequestAuth) -> BatchResponse {
    let services = &state.services;
    let Some(target) = read_target(services, &batch, auth) else {
        let users = Writers::default();
        let response = run_on(state, batch, auth, None, Some(&users)).await;
        read_your_writes::stamp(services, &users.take()).await;
        return response;
    };
    if !target.replica {
        return run_on(state, batch, auth, None, None).await;
    }
    let spare = batch.iter().map(duplicate).collect::<Vec<_>>();
    let response = run_on(state, batch, auth, Some(&target.pool), None).await;
    if !wanted_a_database(&response) {
        return response;
    }
    if let Some(replicas) = &services.replicas {
        replicas.report_failure(&target.pool);
    }
    let spare = match <[Resolved; 1]>::try_from(spare) {
        Ok([single]) => Batch::Single(single),
        Err(many) => Batch::Batch(many),
    };
    run_on(state, spare, auth, None, None).await
}

/// The users a batch that may write acted for, to stamp (see `read_your_writes`).
#[derive(Default)]
struct Writers(std::sync::Mutex<Vec<uuid::Uuid>>);

impl Writers {
    fn add(&self, users: impl IntoIterator<Item = uuid::Uuid>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(users);
    }

    fn take(self) -> Vec<uuid::Uuid> {
        self.0.into_inner().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs `batch` with its reads on `replica` (else the primary), recording
/// into `writers` whom a batch that may write acted for.
async fn run_on(
    state: &AppState,
    batch: Batch<Resolved>,
    auth: &RequestAuth,
    replica: Option<&DbPool>,
    writers: Option<&Writers>,
) -> BatchResponse {
    let budget = StatementBudget::new(MAX_STATEMENTS);
    let loaders = Arc::new(Loaders::new(
        replica.unwrap_or(&state.services.pool),
        auth.viewer.user_id(),
        &budget,
    ));
    let one = |resolved: Resolved| {
        let loaders = loaders.clone();
        async move {
            match resolved {
                Ok(Runnable {
                    mut request,
                    registration,
                }) => {
                    request.data.insert(auth.viewer);
                    request.data.insert(auth.origin.clone());
                    request.data.insert(auth.device.clone());
                    request.data.insert(loaders);
                    // Responses leave through `ResponseMedia::respond`, which
                    // writes a page's JSON as it was written (graphql::direct).
                    request.data.insert(RawJson);
                    if let Some(pool) = replica {
                        request.data.insert(ReadPool(pool.clone()));
                    }
                    let started = Arc::new(SessionsStarted::default());
                    request.data.insert(started.clone());
                    let (response, executed) = execute_one(&state.schema, request).await;
                    if executed && let Some(registration) = registration {
                        state.documents.register(registration);
                    }
                    if let Some(writers) = writers {
                        writers.add(auth.viewer.user_id());
                        writers.add(started.users());
                    }
                    response
                }
                Err(err) => Response::from_errors(vec![request_error(err)]),
            }
        }
    };
    budget
        .scope(async {
            match batch {
                Batch::Single(resolved) => BatchResponse::Single(one(resolved).await),
                Batch::Batch(operations) => {
                    let mut responses = Vec::with_capacity(operations.len());
                    for resolved in operations {
                        responses.push(one(resolved).await);
                    }
                    BatchResponse::Batch(responses)
                }
            }
        })
        .await
}

/// Where a batch of queries only reads (`None`: the batch may write, so
/// everything runs on the primary; also when there are no replicas).
fn read_target(
    services: &Services,
    batch: &Batch<Resolved>,
    auth: &RequestAuth,
) -> Option<ReadTarget> {
    services.replicas.as_ref()?;
    let only_queries = batch.iter().all(|resolved| match resolved {
        Ok(Runnable { request, .. }) => {
            is_query_operation(&request.query, request.operation_name.as_deref())
        }
        Err(_) => true,
    });
    if !only_queries {
        return None;
    }
    let target = services.read_target(auth.read_after);
    metrics::graphql_reads(target.replica);
    Some(target)
}

/// A copy of an operation as the client sent it, before any data was added.
fn duplicate(resolved: &Resolved) -> Resolved {
    let Runnable {
        request,
        registration,
    } = resolved.as_ref().map_err(Clone::clone)?;
    let mut copy = Request::new(request.query.clone()).variables(request.variables.clone());
    copy.operation_name = request.operation_name.clone();
    copy.extensions = request.extensions.clone();
    copy.introspection_mode = request.introspection_mode;
    Ok(Runnable {
        request: copy,
        registration: registration.clone(),
    })
}

/// Whether some operation failed because its database could not be reached.
fn wanted_a_database(response: &BatchResponse) -> bool {
    match response {
        BatchResponse::Single(response) => failed_for_database(std::slice::from_ref(response)),
        BatchResponse::Batch(responses) => failed_for_database(responses),
    }
}

/// Whether some response has an error because its database could not be
/// reached (SERVICE_UNAVAILABLE): run on a replica, it is run again on the
/// primary.
pub(crate) fn failed_for_database(responses: &[Response]) -> bool {
    responses
        .iter()
        .flat_map(|response| &response.errors)
        .any(|err| {
            err.extensions
                .as_ref()
                .and_then(|extensions| extensions.get("code"))
                .is_some_and(|code| *code == async_graphql::Value::from(codes::SERVICE_UNAVAILABLE))
        })
}

/// GET /graphql: GraphiQL for browsers; for other clients, a query in the URL.
pub async fn get(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    uri: Uri,
) -> axum::response::Response {
    if uri.query().unwrap_or_default().is_empty() && accepts(&headers, "text/html") {
        return graphiql::page(&state.services.config);
    }
    let media = ResponseMedia::negotiate(&headers);
    let operation = match graphql_request::from_uri(&uri) {
        Ok(operation) => operation,
        Err(err) => return media.error(StatusCode::BAD_REQUEST, &err.to_string()),
    };
    let runnable = match operation.resolve(&state.documents) {
        Ok(runnable) => runnable,
        Err(err) => {
            let refused = Response::from_errors(vec![request_error(err)]);
            return media.respond(BatchResponse::Single(refused));
        }
    };
    let request = &runnable.request;
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
    media.respond(run(&state, Batch::Single(Ok(runnable)), &auth).await)
}

/// Runs a batch, one operation after another (as async-graphql does).
pub async fn execute<E: Executor>(executor: &E, batch: BatchRequest) -> BatchResponse {
    match batch {
        BatchRequest::Single(request) => {
            BatchResponse::Single(execute_one(executor, request).await.0)
        }
        BatchRequest::Batch(requests) => {
            let mut responses = Vec::with_capacity(requests.len());
            for request in requests {
                responses.push(execute_one(executor, request).await.0);
            }
            BatchResponse::Batch(responses)
        }
    }
}

/// Admits and runs one operation, and whether it was executed (see
/// [`executed`]); a panicking resolver becomes an INTERNAL_SERVER_ERROR
/// response instead of a dropped connection.
async fn execute_one<E: Executor>(executor: &E, mut request: Request) -> (Response, bool) {
    let started = std::time::Instant::now();
    // Parsed once here (or copied from an earlier request with the same
    // text); admission and execution reuse the document, which is kept for
    // later requests only if it runs.
    let fresh = parsed::parse(&mut request);
    let requested = request.operation_name.take();
    let (operation, parsed) = match request.parsed_query() {
        Ok(document) => (
            metrics::SelectedOperation::of(document, requested.as_deref()),
            true,
        ),
        Err(_) => (metrics::SelectedOperation::none(), false),
    };
    request.operation_name = requested;
    let kind = operation.kind();
    let response = admit_and_execute(executor, request, parsed).await;
    let executed = executed(&response);
    if executed && let Some(fresh) = fresh {
        fresh.keep();
    }
    metrics::graphql_operation(
        operation.label(executed),
        kind,
        response.errors.is_empty(),
        started.elapsed(),
    );
    (response, executed)
}

/// True when async-graphql executed the operation: it answers a document
/// that does not parse or validate, or that names no operation of its own,
/// with errors that have no path (and so do the checks before it), while
/// an operation that ran has no error or one with a path (every error a
/// resolver raises has one).
fn executed(response: &Response) -> bool {
    response.errors.is_empty() || response.errors.iter().any(|err| !err.path.is_empty())
}

async fn admit_and_execute<E: Executor>(
    executor: &E,
    mut request: Request,
    parsed: bool,
) -> Response {
    // A document that does not parse has nothing to admit: execution
    // reports its syntax error.
    if parsed && let Err(err) = admission::check(&mut request) {
        return Response::from_errors(vec![request_error(err)]);
    }
    match AssertUnwindSafe(executor.execute(request))
        .catch_unwind()
        .await
    {
        Ok(response) => with_codes(response),
        Err(_) => {
            tracing::error!("a resolver panicked");
            Response::from_errors(vec![internal_error()])
        }
    }
}

/// An error about the request as a whole (no location or path), with the
/// extensions its error type gives it (a contract code at least).
fn request_error(err: impl Into<async_graphql::Error>) -> ServerError {
    let error: async_graphql::Error = err.into();
    let mut server = ServerError::new(error.message, None);
    server.extensions = error.extensions;
    server
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

/// True unless the document's selected operation is a mutation or subscription.
/// A document that does not parse counts as a query: execution reports the error.
fn is_query_operation(query: &str, operation_name: Option<&str>) -> bool {
    // The document a client sends again is read where it is kept: a request
    // routed to a replica, or sent by GET, is parsed no more than once.
    parsed::inspect(query, |document| selects_query(document, operation_name)).unwrap_or(true)
}

/// Whether the operation `operation_name` picks in `document` only reads
/// (an unknown name counts as a query: execution reports it).
fn selects_query(document: &ExecutableDocument, operation_name: Option<&str>) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::graphql_response::is_internal_only;
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

    struct Panicky;

    #[Object]
    impl Panicky {
        async fn boom(&self) -> i32 {
            "not a number".parse().expect("a resolver bug")
        }

        async fn refused(&self) -> async_graphql::Result<i32> {
            Err("refused".into())
        }

        async fn fine(&self) -> i32 {
            1
        }
    }

    #[tokio::test]
    async fn only_operations_that_ran_count_as_executed() {
        let schema = Schema::new(Panicky, EmptyMutation, EmptySubscription);
        let executed_for = |query: &str, name: Option<&str>| {
            let mut request = Request::new(query);
            request.operation_name = name.map(str::to_owned);
            let schema = schema.clone();
            async move { execute_one(&schema, request).await.1 }
        };
        assert!(executed_for("{ fine }", None).await);
        assert!(executed_for("query Q { fine refused }", None).await);
        assert!(executed_for("{ refused }", None).await);
        assert!(!executed_for("{ fine", None).await);
        assert!(!executed_for("{ nope }", None).await);
        assert!(!executed_for("query Q { fine }", Some("Other")).await);
        assert!(!executed_for("query A { fine } query B { fine }", None).await);
        assert!(!executed_for("{ boom }", None).await);
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
    }
}
