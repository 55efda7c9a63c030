//! GraphiQL served from the binary: its page and assets over HTTP, `GRAPHIQL=false`,
//! and the page in headless Chromium with every request off the server aborted.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::harness::ws::wait_for_subscribers;
use crate::harness::{TestServer, tools};

/// How long the browser test waits for each step of the script (it starts a browser).
const STEP_DEADLINE: std::time::Duration = std::time::Duration::from_secs(90);

async fn page(server: &TestServer) -> reqwest::Response {
    server
        .client
        .get(server.url("/graphql"))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .expect("the server answers")
}

/// The `src` and `href` paths of a page.
fn linked_paths(html: &str) -> Vec<String> {
    ["src=\"", "href=\""]
        .iter()
        .flat_map(|attr| html.split(attr).skip(1))
        .filter_map(|rest| rest.split('"').next())
        .filter(|link| !link.starts_with("data:"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_and_its_assets_come_from_the_binary() {
    let server = TestServer::start().await;
    let response = page(&server).await;
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = response.text().await.expect("a page");
    assert!(!html.contains("<script>"), "no inline script: {html}");

    let paths = linked_paths(&html);
    assert_eq!(paths.len(), 6, "{paths:?}");
    for path in &paths {
        assert!(path.starts_with("/graphiql/"), "{path} is not served here");
        let asset = server
            .client
            .get(server.url(path))
            .send()
            .await
            .expect("the server answers");
        assert_eq!(asset.status(), StatusCode::OK, "{path}");
        assert_eq!(
            asset.headers()[CACHE_CONTROL],
            "public, max-age=31536000, immutable",
            "{path}"
        );
        let kind = asset.headers()[CONTENT_TYPE].to_str().expect("ASCII");
        assert!(
            kind.starts_with("text/javascript") || kind.starts_with("text/css"),
            "{path}: {kind}"
        );
    }
    assert!(
        paths.iter().any(|p| p == "/graphiql/4.1.2/graphiql.min.js"),
        "{paths:?}"
    );
    for licence in [
        "4.1.2/LICENSE",
        "react-18.3.1/LICENSE",
        "react-dom-18.3.1/LICENSE",
    ] {
        let body = server
            .client
            .get(server.url(&format!("/graphiql/{licence}")))
            .send()
            .await
            .expect("the server answers")
            .text()
            .await
            .expect("text");
        assert!(body.contains("MIT License"), "{licence}: {body}");
    }
    let missing = server
        .client
        .get(server.url("/graphiql/4.1.2/nope.js"))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_false_turns_it_off() {
    let server = TestServer::start_with(crate::harness::TestDb::new().await, |config| {
        config.graphiql = false;
    })
    .await;
    let response = page(&server).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        response
            .text()
            .await
            .expect("text")
            .contains("GRAPHIQL=false")
    );
    let asset = server
        .client
        .get(server.url("/graphiql/4.1.2/graphiql.min.js"))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(asset.status(), StatusCode::NOT_FOUND);
    // The API itself still answers.
    let body = server.gql("{ __typename }", json!({})).await;
    assert_eq!(body["data"]["__typename"], "Query");
}

/// The value after `key ` in the script's output.
fn field<'a>(lines: &'a [String], key: &str) -> Option<&'a str> {
    lines
        .iter()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(' '))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_runs_a_query_and_a_subscription_in_a_browser_offline() {
    let server = TestServer::start().await;
    let ci = tools::ci_dir();
    let python = ci.join(".venv-browser/bin/python");
    tools::require(&python, "Python playwright (.ci/.venv-browser)");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    tools::require(std::path::Path::new(&chromium), "Debian chromium");

    let mut child = Command::new(&python)
        .arg(ci.join("tools/graphiql-browser.py"))
        .arg(server.url("/graphql"))
        .env("CHROMIUM", &chromium)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the browser script starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let reader = tokio::task::spawn_blocking(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let next_line = async |rx: &mut mpsc::UnboundedReceiver<String>| {
        tokio::time::timeout(STEP_DEADLINE, rx.recv())
            .await
            .expect("the browser script answers before the deadline")
    };

    // Wait until GraphiQL has opened its subscription, then publish a post.
    while let Some(line) = next_line(&mut rx).await {
        let subscribed = line == "subscribed";
        lines.push(line);
        if subscribed {
            break;
        }
    }
    if lines.iter().any(|line| line == "subscribed") {
        wait_for_subscribers(&server, 1).await;
        let author = server.sign_up("browser@example.com").await;
        author.post("Seen in GraphiQL", "PUBLISHED").await;
    }
    while let Some(line) = next_line(&mut rx).await {
        lines.push(line);
    }
    reader.await.expect("the reader finishes");
    let output = tools::run_to_end(child).await;
    let transcript = format!("{}\n{}", lines.join("\n"), tools::transcript(&output));

    let result: Value = serde_json::from_str(
        field(&lines, "query-result").unwrap_or_else(|| panic!("no query result:\n{transcript}")),
    )
    .expect("JSON");
    assert_eq!(
        result,
        json!({ "data": { "__typename": "Query" } }),
        "{transcript}"
    );
    let event: Value = serde_json::from_str(
        field(&lines, "subscription-result")
            .unwrap_or_else(|| panic!("no subscription result:\n{transcript}")),
    )
    .expect("JSON");
    assert_eq!(
        event["data"]["feedPostPublished"]["title"], "Seen in GraphiQL",
        "{transcript}"
    );
    let errors: Vec<String> =
        serde_json::from_str(field(&lines, "errors").unwrap_or("null")).expect("a list of errors");
    assert!(
        errors.is_empty(),
        "the browser reported errors:\n{transcript}"
    );
    assert!(output.status.success(), "{transcript}");
}
