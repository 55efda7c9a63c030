//! Reading users over HTTP.

use serde_json::json;

use crate::harness::server::error_code;
use crate::harness::{TestServer, factories};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_is_read_by_id_with_stored_fields_and_no_email_for_strangers() {
    let server = TestServer::start().await;
    let mut conn = server.db.conn().await;
    let user = factories::user(&mut conn, "reader@example.com").await;
    let body = server
        .gql(
            "query($id: ID!) { user(id: $id) { id name email verified experienceLevel currentSkills achievementScore createdAt } }",
            json!({ "id": user.id.to_string() }),
        )
        .await;
    let found = &body["data"]["user"];
    assert_eq!(found["id"], user.id.to_string());
    assert_eq!(found["name"], "Test User");
    assert_eq!(
        found["email"],
        serde_json::Value::Null,
        "anonymous viewers never see an email"
    );
    assert_eq!(found["verified"], false);
    assert_eq!(found["experienceLevel"], "MID_LEVEL");
    assert_eq!(found["currentSkills"], json!([]));
    assert_eq!(found["achievementScore"], 0);
    assert!(
        found["createdAt"]
            .as_str()
            .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_users_are_null_and_malformed_ids_are_bad_input() {
    let server = TestServer::start().await;
    let body = server
        .gql(
            "query($id: ID!) { user(id: $id) { id } }",
            json!({ "id": uuid::Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(body["data"]["user"], serde_json::Value::Null);
    assert!(body.get("errors").is_none());

    let body = server
        .gql(
            "query($id: ID!) { user(id: $id) { id } }",
            json!({ "id": "42" }),
        )
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
    assert_eq!(body["errors"][0]["extensions"]["field"], "id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn me_is_null_without_a_session() {
    let server = TestServer::start().await;
    let body = server.gql("{ me { id } }", json!({})).await;
    assert_eq!(body, json!({ "data": { "me": null } }));
}
