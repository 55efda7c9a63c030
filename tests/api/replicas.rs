//! Reads on a streaming replica: read-your-writes, and a replica going away.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::cluster::Cluster;
use crate::harness::server::sign_up;
use crate::harness::{TestDb, TestServer};

pub(crate) const DATABASE: &str = "growth_diary";
const DEADLINE: Duration = Duration::from_secs(60);

/// A server on the cluster's primary, reading from its replica, once the
/// replica takes reads.
pub(crate) async fn server_on(cluster: &Cluster) -> TestServer {
    let primary = cluster.primary_url(DATABASE);
    let replica = cluster.replica_url(DATABASE);
    let server = TestServer::start_with(TestDb::empty().await, move |config| {
        config.database = growth_diary::config::DatabaseConfig::for_url(primary);
        config.database.database_replica_urls = vec![replica];
    })
    .await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while replicas(&server).healthy() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the replica never took reads"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server
}

pub(crate) fn replicas(server: &TestServer) -> &growth_diary::db::replicas::Replicas {
    server
        .services
        .replicas
        .as_deref()
        .expect("the server has replicas")
}

fn replica_reads(server: &TestServer) -> u64 {
    replicas(server).reads().iter().sum()
}

const FEED: &str = "{ feed(first: 20) { edges { node { id title } } } }";

fn feed_ids(body: &Value) -> Vec<String> {
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["feed"]["edges"]
        .as_array()
        .expect("feed edges")
        .iter()
        .map(|edge| edge["node"]["id"].as_str().expect("an id").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn writers_read_their_writes_at_once_and_others_once_the_replica_has_them() {
    let cluster = Cluster::start(Duration::from_secs(5));
    let server = server_on(&cluster).await;
    let bob = sign_up(&server, "bob@example.com", "correct horse battery").await;
    // Bob's sign-up is his last write: his reads go to the replica once it
    // has replayed it.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let before = replica_reads(&server);
        server.gql_as(Some(&bob), "{ me { id } }", json!({})).await;
        if replica_reads(&server) > before {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "bob's reads never went to the replica"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let alice = sign_up(&server, "alice@example.com", "correct horse battery").await;
    let created = server
        .gql_as(
            Some(&alice),
            r#"mutation { createPost(input: {title: "Fresh", content: "Just written", status: PUBLISHED}) { id } }"#,
            json!({}),
        )
        .await;
    let post = created["data"]["createPost"]["id"]
        .as_str()
        .expect("a post id")
        .to_string();

    // Bob reads from the replica, which has not replayed the post yet.
    let on_replica = cluster.replica_transactions(DATABASE).await;
    let reads_before = replica_reads(&server);
    let bobs_feed = server.gql_as(Some(&bob), FEED, json!({})).await;
    assert!(
        !feed_ids(&bobs_feed).contains(&post),
        "the replica had the post already: {bobs_feed}"
    );
    assert_eq!(
        replica_reads(&server),
        reads_before + 1,
        "bob's read went to the replica"
    );
    // The replica's own statistics show the reads (they are flushed within a second or so).
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while cluster.replica_transactions(DATABASE).await <= on_replica {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the replica's statistics show no read"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Alice sees her post at once, in every read: the replica, 5 s behind,
    // does not have it yet, so her reads go to the primary.
    let by_id = server
        .gql_as(
            Some(&alice),
            "query($id: ID!) { post(id: $id) { id title } }",
            json!({ "id": post }),
        )
        .await;
    assert_eq!(by_id["data"]["post"]["title"], "Fresh", "{by_id}");
    let mine = server
        .gql_as(
            Some(&alice),
            "{ me { posts(first: 5) { edges { node { id } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mine["data"]["me"]["posts"]["edges"][0]["node"]["id"],
        post.as_str(),
        "{mine}"
    );
    let alices_feed = server.gql_as(Some(&alice), FEED, json!({})).await;
    assert!(feed_ids(&alices_feed).contains(&post), "{alices_feed}");

    // Once the replica catches up, Bob sees it.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let bobs_feed = server.gql_as(Some(&bob), FEED, json!({})).await;
        if feed_ids(&bobs_feed).contains(&post) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the replica never caught up"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_going_away_is_no_clients_error_and_reads_come_back_to_it() {
    let cluster = Cluster::start(Duration::ZERO);
    let server = std::sync::Arc::new(server_on(&cluster).await);
    let writer = sign_up(&server, "writer@example.com", "correct horse battery").await;
    server
        .gql_as(
            Some(&writer),
            r#"mutation { createPost(input: {title: "Load", content: "Read me", status: PUBLISHED}) { id } }"#,
            json!({}),
        )
        .await;

    let running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut readers = Vec::new();
    for _ in 0..4 {
        let server = server.clone();
        let running = running.clone();
        readers.push(tokio::spawn(async move {
            let mut answered = 0u32;
            while running.load(std::sync::atomic::Ordering::Relaxed) {
                let body = server.gql(FEED, json!({})).await;
                assert!(
                    body.get("errors").is_none(),
                    "a reader saw an error: {body}"
                );
                answered += 1;
            }
            answered
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.stop_replica();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while replicas(&server).healthy() != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stopped replica still counts as healthy"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let while_down = replica_reads(&server);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        replica_reads(&server),
        while_down,
        "reads went to a stopped replica"
    );

    cluster.start_replica();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while replica_reads(&server) == while_down {
        assert!(
            tokio::time::Instant::now() < deadline,
            "reads never came back to the replica"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    running.store(false, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        let answered = reader.await.expect("a reader finished without an error");
        assert!(answered > 0);
    }
}
