//! AI stories: periods, generators (template, and an OpenAI-compatible server
//! in the test), and the daily quota across two instances.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};

use crate::harness::server::{error_code, sign_up};
use crate::harness::{TestDb, TestServer};

const PASSWORD: &str = "correct horse battery";
const GENERATE: &str = "mutation($p: String!) { generateStory(period: $p) { id period content } }";
const QUOTA: &str = "{ storyQuota { limit used remaining resetsAt } }";

fn this_month() -> String {
    chrono::Utc::now().format("%Y-%m").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_template_story_tells_the_diary_and_rewrites_its_period() {
    let server = TestServer::start().await;
    let writer = server.sign_up("writer@example.com").await;
    writer.gql("mutation { updateProfile(input: { currentRole: \"Backend Engineer\", targetSkills: [\"Distributed systems\"] }) { id } }", json!({}))
        .await;
    for (title, status) in [
        ("Shipped the billing API", "PUBLISHED"),
        ("Notes on Raft", "DRAFT"),
    ] {
        writer.gql("mutation($t: String!, $s: PostStatus!) { createPost(input: { title: $t, content: \"Long day, good result.\", status: $s }) { id } }", json!({ "t": title, "s": status }))
            .await;
    }
    let goal = writer.gql("mutation { createGoal(input: { title: \"Read DDIA\", period: MONTHLY, deadline: \"2099-01-01T00:00:00Z\" }) { id } }", json!({}))
        .await;
    assert!(goal["data"]["createGoal"]["id"].is_string(), "{goal}");

    let story = writer.gql(GENERATE, json!({ "p": this_month() })).await;
    let content = story["data"]["generateStory"]["content"]
        .as_str()
        .unwrap_or_else(|| panic!("{story}"))
        .to_string();
    for fact in [
        "Shipped the billing API",
        "Notes on Raft",
        "2 diary entries",
        "1 published, 1 still drafts",
        "Read DDIA",
        "Backend Engineer",
        "Distributed systems",
    ] {
        assert!(
            content.contains(fact),
            "the story should mention {fact:?}: {content}"
        );
    }
    let again = writer.gql(GENERATE, json!({ "p": this_month() })).await;
    assert_eq!(
        again["data"]["generateStory"]["id"], story["data"]["generateStory"]["id"],
        "one story per period"
    );
    let listed = writer
        .gql(
            "{ me { stories { edges { node { period } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed["data"]["me"]["stories"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let quota = writer.gql(QUOTA, json!({})).await;
    assert_eq!(quota["data"]["storyQuota"]["used"], 2);
    assert_eq!(quota["data"]["storyQuota"]["remaining"], 3);

    let other = server.sign_up("other@example.com").await;
    let writer_id = writer.id().await;
    let peek = other
        .gql(
            "query($id: ID!) { user(id: $id) { stories { edges { node { id } } } } }",
            json!({ "id": writer_id }),
        )
        .await;
    assert_eq!(error_code(&peek), Some("FORBIDDEN"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periods_are_checked() {
    let server = TestServer::start().await;
    let token = server.sign_up("periods@example.com").await;
    for period in ["2026-W47", "2026-Q4", "2026", "2026-11-22"] {
        let body = token.gql(GENERATE, json!({ "p": period })).await;
        assert_eq!(body["data"]["generateStory"]["period"], period, "{body}");
    }
    for period in [
        "last week",
        "2026-13",
        "2026-W60",
        "2026-Q5",
        "2026-02-30",
        "3000-01",
    ] {
        let body = token.gql(GENERATE, json!({ "p": period })).await;
        assert_eq!(
            error_code(&body),
            Some("BAD_USER_INPUT"),
            "{period}: {body}"
        );
        assert_eq!(body["errors"][0]["extensions"]["field"], "period");
    }
    let quota = token.gql(QUOTA, json!({})).await;
    assert_eq!(
        quota["data"]["storyQuota"]["used"], 4,
        "refused periods cost nothing"
    );
    assert_eq!(
        error_code(&server.gql(QUOTA, json!({})).await),
        Some("UNAUTHENTICATED")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_daily_limit_is_exact_across_two_instances() {
    let db = Arc::new(TestDb::new().await);
    let first =
        TestServer::start_with(db.clone(), |config| config.stories.story_daily_limit = 5).await;
    let second =
        TestServer::start_with(db.clone(), |config| config.stories.story_daily_limit = 5).await;
    let eager = first.sign_up("eager@example.com").await;
    let period = this_month();
    let attempts = futures_util::future::join_all((0..50).map(|i| {
        let server = if i % 2 == 0 { &first } else { &second };
        server.gql_as(Some(&eager.token), GENERATE, json!({ "p": period }))
    }))
    .await;
    let succeeded = attempts
        .iter()
        .filter(|body| body["data"]["generateStory"]["id"].is_string())
        .count();
    let limited: Vec<&Value> = attempts
        .iter()
        .filter(|body| error_code(body) == Some("RATE_LIMITED"))
        .collect();
    assert_eq!(succeeded, 5);
    assert_eq!(limited.len(), 45);
    let extensions = &limited[0]["errors"][0]["extensions"];
    assert_eq!(extensions["limit"], 5);
    assert!(
        extensions["retryAfter"]
            .as_u64()
            .is_some_and(|s| s > 0 && s <= 86_400)
    );
    assert!(
        extensions["resetsAt"]
            .as_str()
            .is_some_and(|t| t.contains("T00:00:00"))
    );

    let count: i32 = db
        .client()
        .await
        .query_one("SELECT daily_generation_count FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 5);
    let quota = second.gql_as(Some(&eager.token), QUOTA, json!({})).await;
    assert_eq!(quota["data"]["storyQuota"]["remaining"], 0);
    assert_eq!(quota["data"]["storyQuota"]["used"], 5);

    // The next UTC day the count starts again.
    db.client()
        .await
        .execute(
            "UPDATE users SET last_generation_date = last_generation_date - interval '1 day'",
            &[],
        )
        .await
        .unwrap();
    let tomorrow = eager.gql(GENERATE, json!({ "p": period })).await;
    assert!(
        tomorrow["data"]["generateStory"]["id"].is_string(),
        "{tomorrow}"
    );
    let count: i32 = db
        .client()
        .await
        .query_one("SELECT daily_generation_count FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1);
}

/// An OpenAI-compatible server: answers according to the request's model name.
async fn fake_openai() -> String {
    async fn completions(headers: HeaderMap, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
        let authorized = headers
            .get("authorization")
            .is_some_and(|v| v == "Bearer test-key");
        match body["model"].as_str() {
            _ if !authorized => (
                StatusCode::UNAUTHORIZED,
                Json(json!({ "error": { "message": "bad key" } })),
            ),
            Some("broken") => (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": { "message": "boom" } })),
            ),
            Some("slow") => {
                tokio::time::sleep(Duration::from_secs(5)).await;
                (StatusCode::OK, Json(json!({})))
            }
            Some("garbled") => (StatusCode::OK, Json(json!({ "choices": [] }))),
            Some("echo-max-tokens") => {
                let story = format!("max_tokens={}", body["max_tokens"]);
                (
                    StatusCode::OK,
                    Json(json!({ "choices": [{ "message": { "content": story } }] })),
                )
            }
            Some("leisurely") => {
                tokio::time::sleep(Duration::from_secs(2)).await;
                (
                    StatusCode::OK,
                    Json(json!({ "choices": [{ "message": { "content": "Worth the wait." } }] })),
                )
            }
            _ => {
                let prompt = body["messages"][1]["content"].as_str().unwrap_or_default();
                let story = format!(
                    "A fine month. Prompt began: {}",
                    &prompt[..40.min(prompt.len())]
                );
                (
                    StatusCode::OK,
                    Json(
                        json!({ "choices": [{ "message": { "role": "assistant", "content": story } }] }),
                    ),
                )
            }
        }
    }
    let app = axum::Router::new().route("/v1/chat/completions", post(completions));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_generator_speaks_chat_completions_and_only_a_few_failures_are_refunded() {
    let base = fake_openai().await;
    let db = Arc::new(TestDb::new().await);
    let server_for = |model: &'static str, key: &'static str| {
        let (db, base) = (db.clone(), base.clone());
        async move {
            TestServer::start_with(db, move |config| {
                config.stories.story_generator = growth_diary::config::GeneratorKind::Openai;
                config.stories.openai_base_url = base.parse().unwrap();
                config.stories.openai_api_key = Some(key.into());
                config.stories.openai_model = model.into();
                config.stories.openai_timeout_secs = 1;
                config.stories.story_daily_refunds = 3;
            })
            .await
        }
    };
    let good = server_for("good", "test-key").await;
    let ai = good.sign_up("ai@example.com").await;
    let story = ai.gql(GENERATE, json!({ "p": this_month() })).await;
    let content = story["data"]["generateStory"]["content"]
        .as_str()
        .unwrap_or_else(|| panic!("{story}"));
    assert!(
        content.starts_with("A fine month. Prompt began: Write the growth story of Ada"),
        "{content}"
    );

    // Three failures a day are given back; the fourth counts.
    for (failure, (model, key, says)) in [
        ("broken", "test-key", "HTTP 500"),
        ("good", "wrong-key", "HTTP 401"),
        ("slow", "test-key", "did not answer in time"),
        ("garbled", "test-key", "unusable answer"),
    ]
    .into_iter()
    .enumerate()
    {
        let server = server_for(model, key).await;
        let body = server
            .gql_as(Some(&ai.token), GENERATE, json!({ "p": this_month() }))
            .await;
        assert_eq!(
            error_code(&body),
            Some("INTERNAL_SERVER_ERROR"),
            "{model}: {body}"
        );
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(says), "{model}: {message}");
        assert!(!message.contains("127.0.0.1"), "no internals: {message}");
        let refunded = failure < 3;
        assert_eq!(
            message.contains("counts against today's generations"),
            !refunded,
            "{model}: {message}"
        );
        let quota = server.gql_as(Some(&ai.token), QUOTA, json!({})).await;
        assert_eq!(
            quota["data"]["storyQuota"]["used"],
            if refunded { 1 } else { 2 },
            "{model}: failure {} of the day",
            failure + 1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_tokens_reaches_the_generator() {
    let base = fake_openai().await;
    let server = TestServer::start_with(TestDb::new().await, move |config| {
        config.stories.story_generator = growth_diary::config::GeneratorKind::Openai;
        config.stories.openai_base_url = base.parse().unwrap();
        config.stories.openai_api_key = Some("test-key".into());
        config.stories.openai_model = "echo-max-tokens".into();
        config.stories.openai_max_tokens = 321;
    })
    .await;
    let token = server.sign_up("tokens@example.com").await;
    let story = token.gql(GENERATE, json!({ "p": this_month() })).await;
    assert_eq!(
        story["data"]["generateStory"]["content"], "max_tokens=321",
        "{story}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_time_limit_leaves_a_generation_its_own_limit() {
    let base = fake_openai().await;
    let db = Arc::new(TestDb::new().await);
    // Sign up where argon2 (slow in a debug build) has the default limit.
    let token = sign_up(
        &TestServer::start_with(db.clone(), |_| {}).await,
        "patient@example.com",
        PASSWORD,
    )
    .await;
    // The generator takes 2 s: past the 1 s request limit, within its own 10 s.
    let server = TestServer::start_with(db, move |config| {
        config.http_limits.request_timeout_secs = 1;
        config.stories.story_generator = growth_diary::config::GeneratorKind::Openai;
        config.stories.openai_base_url = base.parse().unwrap();
        config.stories.openai_api_key = Some("test-key".into());
        config.stories.openai_model = "leisurely".into();
        config.stories.openai_timeout_secs = 10;
    })
    .await;
    let story = server
        .gql_as(Some(&token), GENERATE, json!({ "p": this_month() }))
        .await;
    assert_eq!(
        story["data"]["generateStory"]["content"], "Worth the wait.",
        "{story}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_of_zero_turns_stories_off() {
    let server = TestServer::start_with(TestDb::new().await, |config| {
        config.stories.story_daily_limit = 0
    })
    .await;
    let none = server.sign_up("none@example.com").await;
    let body = none.gql(GENERATE, json!({ "p": this_month() })).await;
    assert_eq!(error_code(&body), Some("RATE_LIMITED"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["limit"], 0);
}
