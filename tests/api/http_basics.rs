//! GraphQL over HTTP and the server's limits, from a plain HTTP client.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::harness::TestServer;
use crate::harness::server::error_code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_answer() {
    let server = TestServer::start().await;
    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = server
        .client
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.text().await.unwrap(), "ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_loads_and_its_introspection_query_passes_the_limits() {
    let server = TestServer::start().await;
    let page = server
        .client
        .get(server.url("/graphql"))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("graphiql")
    );

    let body = server
        .gql(include_str!("introspection.graphql"), json!({}))
        .await;
    assert!(body.get("errors").is_none(), "introspection failed: {body}");
    let types = body["data"]["__schema"]["types"].as_array().unwrap();
    assert!(types.iter().any(|t| t["name"] == "User"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_runs_queries_but_never_mutations() {
    let server = TestServer::start().await;
    let query = server
        .client
        .get(server.url("/graphql"))
        .query(&[("query", "{ __typename }")])
        .send()
        .await
        .unwrap();
    assert_eq!(query.status(), StatusCode::OK);
    assert_eq!(
        query.json::<Value>().await.unwrap()["data"]["__typename"],
        "Query"
    );

    let mutation = server
        .client
        .get(server.url("/graphql"))
        .query(&[("query", "mutation { signOut }")])
        .send()
        .await
        .unwrap();
    assert_eq!(mutation.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(mutation.headers()["allow"], "POST");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_simple_content_types_are_refused() {
    let server = TestServer::start().await;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let response = server
            .client
            .post(server.url("/graphql"))
            .header(CONTENT_TYPE, content_type)
            .body(r#"{"query":"{ __typename }"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
    }
    let no_type = server
        .client
        .post(server.url("/graphql"))
        .body(r#"{"query":"{ __typename }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(no_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_refused_with_413() {
    let server = TestServer::start().await;
    let padding = "x".repeat(2 * 1024 * 1024);
    let response = server
        .client
        .post(server.url("/graphql"))
        .json(&json!({ "query": "{ __typename }", "variables": { "padding": padding } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_a_coded_400() {
    let server = TestServer::start().await;
    let response = server
        .client
        .post(server.url("/graphql"))
        .header(CONTENT_TYPE, "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_capped() {
    let server = TestServer::start().await;
    let batch = |n: usize| Value::Array(vec![json!({ "query": "{ __typename }" }); n]);
    let ok = server
        .client
        .post(server.url("/graphql"))
        .json(&batch(10))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(
        ok.json::<Value>().await.unwrap().as_array().unwrap().len(),
        10
    );
    let too_many = server
        .client
        .post(server.url("/graphql"))
        .json(&batch(11))
        .send()
        .await
        .unwrap();
    assert_eq!(too_many.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliases_and_depth_are_limited() {
    let server = TestServer::start().await;
    let aliases: String = (0..31).map(|i| format!("a{i}: __typename ")).collect();
    let body = server.gql(&format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    let few: String = (0..30).map(|i| format!("a{i}: __typename ")).collect();
    let body = server.gql(&format!("{{ {few} }}"), json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");

    let deep = format!(
        "{{ __schema {{ types {{ {}name{} }} }} }}",
        "ofType { ".repeat(20),
        " }".repeat(20)
    );
    let body = server.gql(&deep, json!({})).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nested too deep"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_response_json_is_served_when_asked_for() {
    let server = TestServer::start().await;
    let response = server
        .client
        .post(server.url("/graphql"))
        .header(ACCEPT, "application/graphql-response+json")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/graphql-response+json")
    );

    let invalid = server
        .client
        .post(server.url("/graphql"))
        .header(ACCEPT, "application/graphql-response+json")
        .json(&json!({ "query": "{ noSuchField }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        invalid.status(),
        StatusCode::BAD_REQUEST,
        "a request error is a 4xx in this media type"
    );

    let legacy = server
        .client
        .post(server.url("/graphql"))
        .json(&json!({ "query": "{ noSuchField }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.status(), StatusCode::OK);
    assert!(
        legacy.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
}
