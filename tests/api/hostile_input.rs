//! Hostile input: characters PostgreSQL cannot store, huge lists, and
//! requests priced by the work they would cause.

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use crate::harness::server::error_code;
use crate::harness::{TestServer, factories};

const CREATE_POST: &str =
    "mutation($input: CreatePostInput!) { createPost(input: $input) { id title } }";

fn error_field(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["field"].as_str()
}

fn assert_bad_input(body: &Value, field: &str) {
    assert_eq!(error_code(body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(error_field(body), Some(field), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_and_lone_surrogates_are_refused_naming_the_field() {
    let server = TestServer::start().await;
    let token = server.sign_up("ada@example.com").await;

    let sign_in = server
        .gql(
            "mutation($input: SignInInput!) { signIn(input: $input) { token } }",
            json!({ "input": { "email": "ada\u{0}@example.com", "password": "whatever1" } }),
        )
        .await;
    assert_bad_input(&sign_in, "email");

    let post = token
        .gql(
            CREATE_POST,
            json!({ "input": { "title": "Day\u{0}one", "content": "text" } }),
        )
        .await;
    assert_bad_input(&post, "title");

    let literal = token
        .gql(
            r#"mutation { updateProfile(input: { name: "Ada\u0000" }) { name } }"#,
            json!({}),
        )
        .await;
    assert_bad_input(&literal, "name");

    // A JSON escape of half a surrogate pair: not a character at all.
    let raw = r#"{"query":"mutation($input: CreatePostInput!) { createPost(input: $input) { id } }","variables":{"input":{"title":"ok","content":"x\ud800y"}}}"#;
    let response = server
        .client
        .post(server.url("/graphql"))
        .bearer_auth(&token.token)
        .header(CONTENT_TYPE, "application/json")
        .body(raw)
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("a JSON body");
    assert_bad_input(&body, "content");

    // A proper pair (an emoji) is a character like any other.
    let emoji = r#"{"query":"mutation($input: CreatePostInput!) { createPost(input: $input) { content } }","variables":{"input":{"title":"ok","content":"\ud83d\ude00"}}}"#;
    let body: Value = server
        .client
        .post(server.url("/graphql"))
        .bearer_auth(&token.token)
        .header(CONTENT_TYPE, "application/json")
        .body(emoji)
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .expect("a JSON body");
    assert_eq!(body["data"]["createPost"]["content"], "\u{1F600}", "{body}");

    let count = server
        .db
        .client()
        .await
        .query_one("SELECT count(*) FROM posts", &[])
        .await
        .expect("count posts")
        .get::<_, i64>(0);
    assert_eq!(count, 1, "only the valid post was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_lists_are_refused_before_their_entries_are_read() {
    let server = TestServer::start().await;
    let ada = server.sign_up("ada@example.com").await;
    let update = "mutation($skills: [String!]) { updateProfile(input: { currentSkills: $skills }) { currentSkills } }";

    let huge: Vec<String> = (0..90_000).map(|i| format!("s{}", i % 1000)).collect();
    let started = std::time::Instant::now();
    let body = ada.gql(update, json!({ "skills": huge })).await;
    eprintln!("90,000-entry list refused in {:?}", started.elapsed());
    assert_bad_input(&body, "currentSkills");

    // The count is checked before duplicates are removed.
    let repeated = vec!["rust"; 51];
    let body = ada.gql(update, json!({ "skills": repeated })).await;
    assert_bad_input(&body, "currentSkills");

    let body = ada
        .gql(update, json!({ "skills": ["Rust", " Rust ", "SQL"] }))
        .await;
    assert_eq!(
        body["data"]["updateProfile"]["currentSkills"],
        json!(["Rust", "SQL"]),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variable_defaults_and_nested_literals_are_checked_like_supplied_values() {
    let server = TestServer::start().await;
    let ada = server.sign_up("ada@example.com").await;
    let post = ada.post("Day one", "PUBLISHED").await;

    // A default with NUL, used because the variable is not supplied.
    let reply = format!(
        r#"mutation($c: String! = "a\u0000b") {{ createReply(postId: "{post}", content: $c) {{ id }} }}"#
    );
    assert_bad_input(&ada.gql(&reply, json!({})).await, "content");
    // Supplied, the default is unused but still the client's text.
    let body = ada.gql(&reply, json!({ "c": "fine" })).await;
    assert_bad_input(&body, "c");
    // Nested in an input object's default, and in a list inside a literal.
    let nested = r#"mutation($i: CreatePostInput! = { title: "t", content: "x\u0000" }) { createPost(input: $i) { id } }"#;
    assert_bad_input(&ada.gql(nested, json!({})).await, "content");
    let literal =
        r#"mutation { updateProfile(input: { currentSkills: ["ok", "b\u0000"] }) { id } }"#;
    assert_bad_input(&ada.gql(literal, json!({})).await, "currentSkills");

    // A 90,000-entry list as a default.
    let entries = vec![r#""s""#; 90_000].join(",");
    let huge = format!(
        "mutation($s: [String!] = [{entries}]) {{ updateProfile(input: {{ targetSkills: $s }}) {{ id }} }}"
    );
    assert_bad_input(&ada.gql(&huge, json!({})).await, "targetSkills");
    // Lengths are the domain's checks, whichever way the value came.
    let long_title = format!(
        r#"mutation($i: CreatePostInput! = {{ title: "{}", content: "x" }}) {{ createPost(input: $i) {{ id }} }}"#,
        "t".repeat(1_000)
    );
    assert_bad_input(&ada.gql(&long_title, json!({})).await, "title");

    let count = |table: &'static str| {
        let server = &server;
        async move {
            server
                .db
                .client()
                .await
                .query_one(&format!("SELECT count(*) FROM {table}"), &[])
                .await
                .expect("count rows")
                .get::<_, i64>(0)
        }
    };
    assert_eq!(count("replies").await, 0);
    assert_eq!(count("posts").await, 1, "only the first post was stored");
    // A good default is used as any value.
    let good = format!(
        r#"mutation($c: String! = "Well done") {{ createReply(postId: "{post}", content: $c) {{ content }} }}"#
    );
    let body = ada.gql(&good, json!({})).await;
    assert_eq!(
        body["data"]["createReply"]["content"], "Well done",
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_costs_half_the_budget_and_is_limited_per_user() {
    let server = TestServer::start().await;
    let ada = server.sign_up("ada@example.com").await;

    let twice = ada
        .gql("{ a: exportMyData b: exportMyData }", json!({}))
        .await;
    assert_eq!(error_code(&twice), Some("BAD_USER_INPUT"), "{twice}");
    assert!(twice["data"].is_null(), "nothing ran: {twice}");

    for _ in 0..10 {
        let body = ada.gql("{ exportMyData }", json!({})).await;
        assert_eq!(
            body["data"]["exportMyData"]["profile"]["email"], "ada@example.com",
            "{body}"
        );
    }
    let body = ada.gql("{ exportMyData }", json!({})).await;
    assert_eq!(error_code(&body), Some("RATE_LIMITED"), "{body}");
    assert!(body["errors"][0]["extensions"]["retryAfter"].as_u64() > Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_texts_and_nested_paging_are_priced_before_they_run() {
    let server = TestServer::start().await;
    factories::social_graph(&server.db.client().await, 100, 1, 0).await;

    // 100 posts of up to 50,000 characters each are over the budget; 50 are not.
    let wide = server
        .gql(
            "{ feed(first: 100) { edges { node { content } } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&wide), Some("BAD_USER_INPUT"), "{wide}");
    let narrow = server
        .gql(
            "{ feed(first: 50) { edges { node { content } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        narrow["data"]["feed"]["edges"].as_array().map(Vec::len),
        Some(50),
        "{narrow}"
    );

    // Paged with `after`, each post's replies need a statement of their own.
    let cursor = first_reply_cursor(&server).await;
    let nested = |first: u32| {
        format!(
            "query($after: String) {{ feed(first: {first}) {{ edges {{ node {{
                replies(first: 1, after: $after) {{ edges {{ node {{ id }} }} }} }} }} }} }}"
        )
    };
    let refused = server.gql(&nested(100), json!({ "after": cursor })).await;
    assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{refused}");
    let before = server.services.statements.get();
    let accepted = server.gql(&nested(80), json!({ "after": cursor })).await;
    assert!(accepted.get("errors").is_none(), "{accepted}");
    assert!(server.services.statements.get() - before >= 80);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_stops_at_its_statement_cap() {
    let server = TestServer::start().await;
    factories::social_graph(&server.db.client().await, 80, 1, 0).await;
    let cursor = first_reply_cursor(&server).await;
    // Each operation fits the complexity budget and runs about 81 statements;
    // ten of them in one batch would run about 810.
    let operation = json!({
        "query": "query($after: String) { feed(first: 80) { edges { node {
            replies(first: 1, after: $after) { edges { node { id } } } } } } }",
        "variables": { "after": cursor },
    });
    let batch: Vec<Value> = (0..10).map(|_| operation.clone()).collect();
    let before = server.services.statements.get();
    let responses: Value = server
        .client
        .post(server.url("/graphql"))
        .json(&batch)
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .expect("a JSON body");
    let responses = responses.as_array().expect("a batch answer");
    assert_eq!(responses.len(), 10);
    assert!(responses[0].get("errors").is_none(), "{}", responses[0]);
    let capped = responses.last().expect("ten answers");
    assert_eq!(error_code(capped), Some("BAD_USER_INPUT"), "{capped}");
    assert!(
        capped["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("SQL statements")),
        "{capped}"
    );
    let ran = server.services.statements.get() - before;
    assert!(ran <= 260, "ran {ran} statements");
}

/// A valid reply cursor, from the first post of the feed.
async fn first_reply_cursor(server: &TestServer) -> String {
    let body = server
        .gql(
            "{ feed(first: 1) { edges { node { replies(first: 1) { edges { cursor } } } } } }",
            json!({}),
        )
        .await;
    body["data"]["feed"]["edges"][0]["node"]["replies"]["edges"][0]["cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("no reply cursor: {body}"))
        .to_owned()
}
