//! GraphQL-over-HTTP conformance: the graphql-http audit suite (npm
//! `graphql-http`, pinned in `.ci/tools/package.json`) against the real server,
//! and the behaviours its audits only sample.

use std::process::Command;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::harness::server::error_code;
use crate::harness::{TestServer, tools};

const JSON: &str = "application/json";
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// The audits the pinned graphql-http 1.23.1 runs; fewer means the tool broke.
const AUDITS: usize = 61;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_graphql_http_audit_passes() {
    let server = TestServer::start().await;
    let dir = tools::ci_dir().join("tools");
    tools::require(&dir.join("node_modules/graphql-http"), "npm graphql-http");

    let mut audit = Command::new("node");
    audit
        .current_dir(&dir)
        .arg("graphql-http-audit.mjs")
        .arg(server.url("/graphql"));
    let output = tools::run(audit).await;
    let transcript = tools::transcript(&output);
    assert!(output.status.success(), "an audit failed:\n{transcript}");
    // The script's last line is "graphql-http audit: P of N passed".
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = stdout
        .lines()
        .find_map(|line| line.strip_prefix("graphql-http audit: "))
        .unwrap_or_else(|| panic!("no summary line:\n{transcript}"));
    assert_eq!(
        summary,
        format!("{AUDITS} of {AUDITS} passed"),
        "{transcript}"
    );
}

/// POSTs `body` as JSON asking for `accept`; returns the status and the JSON body.
async fn post(server: &TestServer, accept: &str, body: &str) -> (StatusCode, Value) {
    let response = server
        .client
        .post(server.url("/graphql"))
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, accept)
        .body(body.to_owned())
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    (status, response.json().await.expect("a JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_errors_have_no_data_and_partial_results_keep_it() {
    let server = TestServer::start().await;
    for accept in [JSON, GRAPHQL_RESPONSE] {
        // Not a GraphQL-over-HTTP request at all: 400 in both media types.
        let (status, body) = post(&server, accept, r#"{"qeury":"{ __typename }"}"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{accept}: {body}");
        assert!(body.get("data").is_none(), "{accept}: {body}");
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("query")),
            "{body}"
        );

        // A document that does not validate: no `data`; 400 only where the
        // media type says request errors are 4xx.
        let (status, body) = post(&server, accept, r#"{"query":"{ noSuchField }"}"#).await;
        let expected = if accept == JSON {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_eq!(status, expected, "{accept}: {body}");
        assert!(body.get("data").is_none(), "{accept}: {body}");
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));

        // Execution began and a non-null root field failed: `data` is null,
        // and the answer is a 200 partial result in both media types.
        let (status, body) = post(
            &server,
            accept,
            r#"{"query":"mutation { signOutEverywhere }"}"#,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{accept}: {body}");
        assert_eq!(body.get("data"), Some(&Value::Null), "{accept}: {body}");
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_reads_the_spec_parameter_names() {
    let server = TestServer::start().await;
    let response = server
        .client
        .get(server.url("/graphql"))
        .query(&[
            (
                "query",
                "query A { a: __typename } query B($skip: Boolean!) { b: __typename me @skip(if: $skip) { id } }",
            ),
            ("operationName", "B"),
            ("variables", r#"{"skip":true}"#),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "data": { "b": "Query" } })
    );

    // A mutation picked by operationName from a mixed document is still refused.
    let mutation = server
        .client
        .get(server.url("/graphql"))
        .query(&[
            ("query", "query A { __typename } mutation M { signOut }"),
            ("operationName", "M"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(mutation.status(), StatusCode::METHOD_NOT_ALLOWED);

    let missing = server
        .client
        .get(server.url("/graphql"))
        .query(&[("variables", "{}")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
}
