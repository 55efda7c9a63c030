//! What a WebSocket subscription may cost the server: the memory a socket
//! keeps (ids and operation names count), the price of a selection, one run
//! per event for identical subscriptions, and the anonymous subscriptions of
//! one address.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::harness::server::sign_up;
use crate::harness::ws::{Received, WsClient, wait_for_subscribers};
use crate::harness::{TestDb, TestServer};
use crate::live::{PASSWORD, create_post, set_liked};

const FEED: &str = "subscription { feedPostPublished { id } }";

/// A deep selection within a subscription's price: the new post, its
/// author's latest posts and their first replies with their authors.
const DEEP_FEED: &str = "subscription { feedPostPublished { id title author { name posts(first: 3) { edges { node { title likeCount replies(first: 2) { edges { node { author { name } } } } } } } } } }";

/// The `error` message for operation `id`, which must be one.
async fn refusal(socket: &mut WsClient, id: &str) -> Value {
    let message = socket.next_for(id).await;
    assert_eq!(message["type"], "error", "{message}");
    message["payload"][0].clone()
}

/// Answers a ping: every message sent before it was handled.
async fn settled(socket: &mut WsClient) {
    socket.send(json!({ "type": "ping" })).await;
    match socket.next().await {
        Received::Message(message) => assert_eq!(message["type"], "pong", "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_over_128_bytes_closes_the_socket_with_4400() {
    let server = TestServer::start().await;
    let mut socket = WsClient::connect(&server, None).await;
    socket.subscribe(&"a".repeat(128), FEED, json!({})).await;
    wait_for_subscribers(&server, 1).await;
    socket.subscribe(&"b".repeat(129), FEED, json!({})).await;
    let (code, reason) = socket.closed().await;
    assert_eq!(code, 4400, "{reason}");
    assert!(reason.contains("128 bytes"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_and_operation_names_count_toward_a_sockets_text() {
    let server = TestServer::start().await;
    let mut socket = WsClient::connect(&server, None).await;
    // Each subscription keeps its 128-byte id, a 3,000-byte operation name
    // and a document that names it: about 6.2 KB, so two fit in 16 KiB and a
    // third does not (documents alone would let five fit).
    let name = "N".repeat(3000);
    let document = format!("subscription {name} {{ feedPostPublished {{ id }} }}");
    let subscribe = |n: usize| {
        json!({ "id": format!("{n:0>128}"), "type": "subscribe",
                "payload": { "query": document, "operationName": name } })
    };
    socket.send(subscribe(1)).await;
    socket.send(subscribe(2)).await;
    socket.send(subscribe(3)).await;
    let refused = refusal(&mut socket, &format!("{:0>128}", 3)).await;
    assert_eq!(refused["extensions"]["code"], "BAD_USER_INPUT", "{refused}");
    let message = refused["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("ids, operation names, documents and variables"),
        "{message}"
    );
    assert_eq!(server.ws.hub.routed(), 2);

    // Completing one gives its room back.
    socket
        .send(json!({ "id": format!("{:0>128}", 1), "type": "complete" }))
        .await;
    socket.send(subscribe(4)).await;
    settled(&mut socket).await;
    assert_eq!(
        server.ws.hub.routed(),
        2,
        "the fourth fits in the first's room"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_costly_selection_is_refused_when_subscribing() {
    let server = TestServer::start().await;
    let mut socket = WsClient::connect(&server, None).await;
    // The review's selection: 20 posts of the author, 10 replies each.
    let costly = "subscription { feedPostPublished { author { posts(first: 20) { edges { node { replies(first: 10) { edges { node { content author { name } } } } } } } } } }";
    socket.subscribe("costly", costly, json!({})).await;
    let refused = refusal(&mut socket, "costly").await;
    assert_eq!(refused["extensions"]["code"], "BAD_USER_INPUT", "{refused}");
    let message = refused["message"].as_str().unwrap_or_default();
    assert!(message.contains("costs 2"), "names the price: {message}");
    assert!(
        message.contains("at most 200"),
        "names the ceiling: {message}"
    );

    // A variable's value is priced too.
    let paged = "subscription($n: Int) { feedPostPublished { author { posts(first: $n) { edges { node { content } } } } } }";
    socket.subscribe("paged", paged, json!({ "n": 10 })).await;
    assert_eq!(
        refusal(&mut socket, "paged").await["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    socket.subscribe("cheap", paged, json!({ "n": 2 })).await;
    socket.subscribe("deep", DEEP_FEED, json!({})).await;
    wait_for_subscribers(&server, 2).await;
}

/// Subscribes `sockets` anonymous sockets of `server` to [`DEEP_FEED`], has
/// `author` publish three posts on `other`, and returns the fewest SQL
/// statements `server` ran for one of them (the pool's counter also counts
/// the outbox poll, which may add one, never take one away) and the
/// payloads of the last.
async fn statements_per_event(
    server: &TestServer,
    other: &TestServer,
    author: &str,
    sockets: usize,
) -> (u64, Vec<Value>) {
    let mut clients = Vec::new();
    for _ in 0..sockets {
        let mut client = WsClient::connect(server, None).await;
        client.subscribe("feed", DEEP_FEED, json!({})).await;
        clients.push(client);
    }
    wait_for_subscribers(server, sockets).await;
    let mut fewest = u64::MAX;
    let mut payloads = Vec::new();
    for n in 0..3 {
        let before = server.services.statements.get();
        create_post(other, author, &format!("Day {n}"), "PUBLISHED").await;
        payloads.clear();
        for client in &mut clients {
            let next = client.next_for("feed").await;
            assert_eq!(next["type"], "next", "{next}");
            payloads.push(next["payload"].clone());
        }
        fewest = fewest.min(server.services.statements.get() - before);
    }
    (fewest, payloads)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_anonymous_subscriptions_share_one_run_per_event() {
    let db = Arc::new(TestDb::new().await);
    let (a, b) = (
        TestServer::start_with(db.clone(), |_| {}).await,
        TestServer::start_with(db, |_| {}).await,
    );
    let author = sign_up(&b, "author@example.com", PASSWORD).await;

    let (one, _) = statements_per_event(&a, &b, &author, 1).await;
    let (ten, payloads) = statements_per_event(&a, &b, &author, 10).await;
    eprintln!("statements per event: 1 subscriber {one}, 10 subscribers {ten}");
    assert!(
        ten <= one,
        "10 identical subscribers cost {ten} statements per event, 1 costs {one}"
    );
    assert!(
        payloads.iter().all(|payload| payload == &payloads[0]),
        "one run, one payload: {payloads:?}"
    );
    let published = &payloads[0]["data"]["feedPostPublished"];
    assert_eq!(published["title"], "Day 2", "{published}");
    assert_eq!(published["author"]["name"], "Ada");
    let latest = &published["author"]["posts"]["edges"];
    assert_eq!(latest[0]["node"]["title"], "Day 2", "{published}");
    assert_eq!(latest[2]["node"]["replies"]["edges"], json!([]));

    // A signed-in viewer's answer is their own: never shared with anyone else's.
    let post = create_post(&b, &author, "Liked", "PUBLISHED").await;
    let bob = sign_up(&a, "bob@example.com", PASSWORD).await;
    let watch = "subscription($p: ID!) { postUpdated(postId: $p) { likeCount likedByMe } }";
    let mut anonymous = WsClient::connect(&a, None).await;
    let mut signed_in = WsClient::connect(&a, Some(&bob)).await;
    for socket in [&mut anonymous, &mut signed_in] {
        socket.subscribe("post", watch, json!({ "p": post })).await;
    }
    wait_for_subscribers(&a, 2).await;
    set_liked(&a, &bob, &post, true).await;
    let seen = |message: Value| message["payload"]["data"]["postUpdated"].clone();
    assert_eq!(
        seen(signed_in.next_for("post").await),
        json!({ "likeCount": 1, "likedByMe": true })
    );
    assert_eq!(
        seen(anonymous.next_for("post").await),
        json!({ "likeCount": 1, "likedByMe": false })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_addresss_anonymous_subscriptions_are_limited_across_its_sockets() {
    let server = TestServer::start().await;
    // 200 anonymous subscriptions per address: four full sockets.
    let mut sockets = Vec::new();
    for _ in 0..4 {
        let mut socket = WsClient::connect(&server, None).await;
        for n in 0..50 {
            socket.subscribe(&n.to_string(), FEED, json!({})).await;
        }
        sockets.push(socket);
    }
    wait_for_subscribers(&server, 200).await;
    let mut fifth = WsClient::connect(&server, None).await;
    fifth.subscribe("one too many", FEED, json!({})).await;
    let refused = refusal(&mut fifth, "one too many").await;
    assert_eq!(refused["extensions"]["code"], "RATE_LIMITED", "{refused}");
    let message = refused["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("anonymous subscriptions from this address"),
        "{message}"
    );
    assert!(message.contains("200"), "{message}");

    // A signed-in socket from the same address is not counted with them.
    let token = sign_up(&server, "alice@example.com", PASSWORD).await;
    let mut alice = WsClient::connect(&server, Some(&token)).await;
    alice.subscribe("feed", FEED, json!({})).await;
    wait_for_subscribers(&server, 201).await;

    // A completed subscription, and a closed socket, give their places back.
    sockets[0]
        .send(json!({ "id": "0", "type": "complete" }))
        .await;
    settled(&mut sockets[0]).await;
    assert!(accepted(&mut fifth, "now").await);
    assert!(!accepted(&mut fifth, "again").await);
    drop(sockets.pop());
    let deadline = tokio::time::Instant::now() + crate::harness::ws::DEADLINE;
    // Refused until the closed socket's end is handled.
    while !accepted(&mut fifth, "later").await {
        assert!(tokio::time::Instant::now() < deadline, "places not freed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Subscribes `id` to the feed: true if kept, false if refused for the
/// address's limit.
async fn accepted(socket: &mut WsClient, id: &str) -> bool {
    socket.subscribe(id, FEED, json!({})).await;
    socket.send(json!({ "type": "ping" })).await;
    match socket.next().await {
        Received::Message(message) if message["type"] == "pong" => true,
        Received::Message(message) if message["type"] == "error" => {
            assert_eq!(message["payload"][0]["extensions"]["code"], "RATE_LIMITED");
            settled_pong(socket).await;
            false
        }
        other => panic!("{other:?}"),
    }
}

async fn settled_pong(socket: &mut WsClient) {
    match socket.next().await {
        Received::Message(message) => assert_eq!(message["type"], "pong", "{message}"),
        other => panic!("{other:?}"),
    }
}
