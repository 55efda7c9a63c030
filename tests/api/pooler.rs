//! Behind a transaction pooler. CI runs the whole suite once through
//! PgBouncer (`TEST_POOLER_URL`); these tests are about what only two
//! processes or the settings show.

use serde_json::json;

use crate::harness::TestDb;
use crate::harness::process::ServerProcess;

/// Two instances (two processes: the driver names its prepared statements
/// per process) write and read at once through one pooler, whose few server
/// connections they share.
#[tokio::test(flavor = "multi_thread")]
async fn two_instances_write_and_read_at_once_without_a_fault() {
    let db = TestDb::new().await;
    let a = ServerProcess::start(&db, &[]);
    let b = ServerProcess::start(&db, &[]);
    let signed_up = a
        .post_graphql(
            None,
            &json!({ "query": r#"mutation { signUp(input: {email: "both@example.com", password: "correct horse battery"}) { token } }"# }),
        )
        .await;
    let token = signed_up["data"]["signUp"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{signed_up}"))
        .to_string();
    let create = json!({ "query": r#"mutation { createPost(input: {title: "Twice", content: "From both", status: PUBLISHED}) { id } }"# });
    let read = json!({ "query": "{ feed(first: 20) { edges { node { id title author { name } likeCount replyCount } } } me { id posts(first: 5) { edges { node { id } } } } }" });
    let mut rounds = Vec::new();
    for round in 0..40 {
        let server = if round % 2 == 0 { &a } else { &b };
        let body = if round % 4 < 2 { &create } else { &read };
        rounds.push(server.post_graphql(Some(&token), body));
    }
    let answers = futures_util::future::join_all(rounds).await;
    for answer in &answers {
        assert!(answer.get("errors").is_none(), "{answer}");
    }
    let feed = a.post_graphql(Some(&token), &read).await;
    let posts = feed["data"]["feed"]["edges"]
        .as_array()
        .expect("feed edges")
        .len();
    assert_eq!(
        posts, 20,
        "every post written through either instance is read: {feed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_pooler_without_a_direct_url_is_refused_at_start() {
    let db = TestDb::new().await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_growth-diary"))
        .env("DATABASE_URL", db.connection_string())
        .env("DATABASE_POOLER", "transaction")
        .env_remove("DATABASE_DIRECT_URL")
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .output()
        .expect("run the binary");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DATABASE_DIRECT_URL"), "{stderr}");
}
