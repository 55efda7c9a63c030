//! Per-user write limits: posts, replies, goals and likes, counted in
//! PostgreSQL (so two instances share them), RATE_LIMITED with retryAfter.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::harness::server::error_code;
use crate::harness::{TestDb, TestServer};

const CREATE_POST: &str = "mutation($t: String!) { createPost(input: { title: $t, content: \"x\", status: PUBLISHED }) { id } }";
const CREATE_REPLY: &str =
    "mutation($id: ID!) { createReply(postId: $id, content: \"Nice\") { id } }";
const CREATE_GOAL: &str = "mutation { createGoal(input: { title: \"Run\", period: DAILY, deadline: \"2099-01-01T00:00:00Z\" }) { id } }";
const LIKE: &str = "mutation($id: ID!) { likePost(postId: $id) { likeCount } }";
const UNLIKE: &str = "mutation($id: ID!) { unlikePost(postId: $id) { likeCount } }";

/// Asserts `body` is RATE_LIMITED with a retryAfter within the hour.
fn assert_limited(body: &Value, what: &str) {
    assert_eq!(error_code(body), Some("RATE_LIMITED"), "{what}: {body}");
    let retry_after = body["errors"][0]["extensions"]["retryAfter"].as_u64();
    assert!(
        retry_after.is_some_and(|s| s > 0 && s <= 3600),
        "{what}: retryAfter {retry_after:?}"
    );
}

fn write_limits_of_two(config: &mut growth_diary::config::ServeConfig) {
    config.write_limits.posts_per_hour = 2;
    config.write_limits.replies_per_hour = 2;
    config.write_limits.goals_per_hour = 2;
    config.write_limits.likes_per_hour = 2;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_write_past_each_hourly_limit_is_rate_limited_across_instances() {
    let db = Arc::new(TestDb::new().await);
    let first = TestServer::start_with(db.clone(), write_limits_of_two).await;
    let second = TestServer::start_with(db.clone(), write_limits_of_two).await;
    let writer = first.sign_up("writer@example.com").await;

    // Posts: one on each instance, the third refused on either.
    let mut post_ids = Vec::new();
    for (n, server) in [&first, &second].into_iter().enumerate() {
        let body = server
            .gql_as(
                Some(&writer.token),
                CREATE_POST,
                json!({ "t": format!("Post {n}") }),
            )
            .await;
        post_ids.push(
            body["data"]["createPost"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("post {n}: {body}"))
                .to_string(),
        );
    }
    let third = writer
        .gql(CREATE_POST, json!({ "t": "One too many" }))
        .await;
    assert_limited(&third, "the third post");
    let message = third["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("at most 2 new posts an hour"), "{message}");
    assert_eq!(third["errors"][0]["extensions"]["limit"], 2);
    let posts: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM posts", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(posts, 2, "the refused post was not written");

    // Goals.
    for n in 0..2 {
        let body = second
            .gql_as(Some(&writer.token), CREATE_GOAL, json!({}))
            .await;
        assert!(
            body["data"]["createGoal"]["id"].is_string(),
            "goal {n}: {body}"
        );
    }
    assert_limited(&writer.gql(CREATE_GOAL, json!({})).await, "the third goal");

    // Replies and likes, by another user (limits are per user).
    let reader = first.sign_up("reader@example.com").await;
    let post = json!({ "id": post_ids[0] });
    for n in 0..2 {
        let body = reader.gql(CREATE_REPLY, post.clone()).await;
        assert!(
            body["data"]["createReply"]["id"].is_string(),
            "reply {n}: {body}"
        );
    }
    assert_limited(
        &second
            .gql_as(Some(&reader.token), CREATE_REPLY, post.clone())
            .await,
        "the third reply",
    );
    // A like and an unlike are two writes.
    let liked = reader.gql(LIKE, post.clone()).await;
    assert_eq!(liked["data"]["likePost"]["likeCount"], 1, "{liked}");
    let unliked = second
        .gql_as(Some(&reader.token), UNLIKE, post.clone())
        .await;
    assert_eq!(unliked["data"]["unlikePost"]["likeCount"], 0, "{unliked}");
    assert_limited(
        &reader.gql(LIKE, post.clone()).await,
        "the third like or unlike",
    );

    // The reader's limits did not touch the writer's remaining writes.
    let body = writer.gql(LIKE, post).await;
    assert_eq!(body["data"]["likePost"]["likeCount"], 1, "{body}");
}
