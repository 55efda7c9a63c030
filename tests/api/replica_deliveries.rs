//! Subscription deliveries on a streaming replica: from the primary while
//! the replica lacks the event's write, from the replica once it has it.

use std::time::Duration;

use serde_json::Value;

use crate::harness::cluster::Cluster;
use crate::harness::server::sign_up;
use crate::harness::ws::{WsClient, wait_for_subscribers};
use crate::live::{PASSWORD, create_post};
use crate::replicas::{DATABASE, replicas, server_on};

const DEADLINE: Duration = Duration::from_secs(60);

const FEED: &str = "subscription { feedPostPublished { id title author { name } } }";

/// Deliveries that read from a replica so far.
fn replica_deliveries(server: &crate::harness::TestServer) -> u64 {
    replicas(server).deliveries().iter().sum()
}

/// The post a `feedPostPublished` message delivers: its id and title.
fn delivered(message: &Value) -> (String, String) {
    let post = &message["payload"]["data"]["feedPostPublished"];
    assert_eq!(post["author"]["name"], "Ada", "{message}");
    (
        post["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{message}"))
            .into(),
        post["title"]
            .as_str()
            .unwrap_or_else(|| panic!("{message}"))
            .into(),
    )
}

/// Whether the replica's database has post `id` now.
async fn replica_has(cluster: &Cluster, id: &str) -> bool {
    let id: uuid::Uuid = id.parse().expect("a post id is a UUID");
    let client = cluster.replica_client(DATABASE).await;
    let row = client
        .query_one("SELECT count(*) FROM posts WHERE id = $1", &[&id])
        .await
        .expect("count on the replica");
    row.get::<_, i64>(0) > 0
}

#[tokio::test(flavor = "multi_thread")]
async fn deliveries_read_from_the_replica_once_it_has_the_events_write() {
    let cluster = Cluster::start(Duration::from_secs(3));
    let server = server_on(&cluster).await;
    let alice = sign_up(&server, "alice@example.com", PASSWORD).await;
    let bob = sign_up(&server, "bob@example.com", PASSWORD).await;
    let mut socket = WsClient::connect(&server, Some(&bob)).await;
    socket.subscribe("feed", FEED, serde_json::json!({})).await;
    wait_for_subscribers(&server, 1).await;

    // The replica applies the WAL 3 s late: the delivery reads from the
    // primary, and shows the post the replica does not have yet.
    let before = replica_deliveries(&server);
    let post = create_post(&server, &alice, "While the replica lags", "PUBLISHED").await;
    let (id, title) = delivered(&socket.next_for("feed").await);
    assert_eq!(
        (id.as_str(), title.as_str()),
        (post.as_str(), "While the replica lags")
    );
    assert!(
        !replica_has(&cluster, &post).await,
        "the replica had the post already: the test shows nothing"
    );
    assert_eq!(
        replicas(&server).healthy(),
        1,
        "the replica still takes reads (3 s behind, under REPLICA_MAX_LAG_MS)"
    );
    assert_eq!(
        replica_deliveries(&server),
        before,
        "the delivery read from a replica that lacked its write"
    );

    // Without the delay, the replica replays each write within moments:
    // deliveries read from it.
    cluster.restart_replica_with_delay(Duration::ZERO);
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while replicas(&server).healthy() == 0 || !replica_has(&cluster, &post).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the restarted replica never caught up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = replica_deliveries(&server);
    const EVENTS: u64 = 5;
    for n in 0..EVENTS {
        let title = format!("Caught up {n}");
        let post = create_post(&server, &alice, &title, "PUBLISHED").await;
        assert_eq!(
            delivered(&socket.next_for("feed").await),
            (post, title),
            "each event delivered, with its data"
        );
    }
    let on_replica = replica_deliveries(&server) - before;
    eprintln!("{on_replica} of {EVENTS} deliveries read from the caught-up replica");
    // Not all: a delivery whose write the replica lacks after two questions
    // reads from the primary, which a loaded machine can cause.
    assert!(
        on_replica * 2 > EVENTS,
        "only {on_replica} of {EVENTS} deliveries read from the caught-up replica"
    );

    // A burst of concurrent writes: the listener's questions answer for
    // several notifications at once, and every event arrives with its data.
    // (Events that arrive during a question are held for the next one; the
    // timing here does not force that case, so it is not proven here.)
    const BURST: usize = 10;
    let titles: Vec<String> = (0..BURST).map(|n| format!("Burst {n}")).collect();
    let created = futures_util::future::join_all(
        titles
            .iter()
            .map(|title| create_post(&server, &alice, title, "PUBLISHED")),
    )
    .await;
    let mut received = Vec::new();
    for _ in 0..BURST {
        received.push(delivered(&socket.next_for("feed").await));
    }
    received.sort();
    let mut expected: Vec<(String, String)> = created.into_iter().zip(titles).collect();
    expected.sort();
    assert_eq!(
        received, expected,
        "every event of the burst, with its data"
    );

    // The replica goes away: the next delivery reads from the primary, and
    // the subscriber sees no error.
    cluster.stop_replica();
    let post = create_post(&server, &alice, "Replica gone", "PUBLISHED").await;
    let message = socket.next_for("feed").await;
    assert!(message["payload"].get("errors").is_none(), "{message}");
    assert_eq!(delivered(&message), (post, "Replica gone".to_string()));
}
