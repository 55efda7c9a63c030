//! Live updates end to end: notifications over HTTP, and subscriptions over
//! `graphql-transport-ws` on two server instances sharing one database.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use crate::harness::server::{error_code, sign_up};
use crate::harness::ws::{Received, WsClient, wait_for_subscribers};
use crate::harness::{TestDb, TestServer};

pub(crate) const PASSWORD: &str = "correct horse battery";

pub(crate) async fn create_post(
    server: &TestServer,
    token: &str,
    title: &str,
    status: &str,
) -> String {
    let body = server
        .gql_as(
            Some(token),
            "mutation($i: CreatePostInput!) { createPost(input: $i) { id } }",
            json!({ "i": { "title": title, "content": "Today I learned", "status": status } }),
        )
        .await;
    body["data"]["createPost"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

async fn reply(server: &TestServer, token: &str, post: &str, content: &str) -> String {
    let body = server
        .gql_as(
            Some(token),
            "mutation($p: ID!, $c: String!) { createReply(postId: $p, content: $c) { id } }",
            json!({ "p": post, "c": content }),
        )
        .await;
    body["data"]["createReply"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

pub(crate) async fn set_liked(server: &TestServer, token: &str, post: &str, liked: bool) {
    let mutation = if liked {
        "mutation($p: ID!) { likePost(postId: $p) { id } }"
    } else {
        "mutation($p: ID!) { unlikePost(postId: $p) { id } }"
    };
    let body = server
        .gql_as(Some(token), mutation, json!({ "p": post }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
}

async fn inbox(server: &TestServer, token: &str, unread_only: bool) -> Vec<Value> {
    let body = server
        .gql_as(
            Some(token),
            "query($u: Boolean) { notifications(unreadOnly: $u) { edges { node { id kind read actor { name } post { id } reply { content } } } } }",
            json!({ "u": unread_only }),
        )
        .await;
    body["data"]["notifications"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|edge| edge["node"].clone())
        .collect()
}

async fn unread(server: &TestServer, token: &str) -> i64 {
    let body = server
        .gql_as(Some(token), "{ unreadNotificationCount }", json!({}))
        .await;
    body["data"]["unreadNotificationCount"]
        .as_i64()
        .unwrap_or_else(|| panic!("{body}"))
}

/// Two instances on one fresh database.
async fn two_instances() -> (TestServer, TestServer) {
    let db = Arc::new(TestDb::new().await);
    let a = TestServer::start_with(db.clone(), |_| {}).await;
    let b = TestServer::start_with(db, |_| {}).await;
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn likes_and_replies_notify_the_author_once_and_take_it_back() {
    let server = TestServer::start().await;
    let alice = sign_up(&server, "alice@example.com", PASSWORD).await;
    let bob = sign_up(&server, "bob@example.com", PASSWORD).await;
    let post = create_post(&server, &alice, "Day 1", "PUBLISHED").await;

    // Own actions notify no one.
    set_liked(&server, &alice, &post, true).await;
    reply(&server, &alice, &post, "note to self").await;
    assert!(inbox(&server, &alice, false).await.is_empty());

    // However often Bob toggles his like, Alice has one notification.
    for _ in 0..3 {
        set_liked(&server, &bob, &post, true).await;
        set_liked(&server, &bob, &post, false).await;
    }
    assert!(
        inbox(&server, &alice, false).await.is_empty(),
        "an unlike withdraws it"
    );
    set_liked(&server, &bob, &post, true).await;
    set_liked(&server, &bob, &post, true).await;
    let notes = inbox(&server, &alice, false).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["kind"], "POST_LIKED");
    assert_eq!(notes[0]["actor"]["name"], "Ada");
    assert_eq!(notes[0]["post"]["id"], post.as_str());
    assert_eq!(notes[0]["read"], false);

    let reply_id = reply(&server, &bob, &post, "Well done").await;
    let notes = inbox(&server, &alice, false).await;
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0]["kind"], "POST_REPLIED", "newest first");
    assert_eq!(notes[0]["reply"]["content"], "Well done");
    assert_eq!(unread(&server, &alice).await, 2);
    assert_eq!(unread(&server, &bob).await, 0, "Bob's inbox is his own");

    // Deleting the reply removes its unread notification.
    let deleted = server
        .gql_as(
            Some(&bob),
            "mutation($id: ID!) { deleteReply(id: $id) }",
            json!({ "id": reply_id }),
        )
        .await;
    assert_eq!(deleted["data"]["deleteReply"], true, "{deleted}");
    assert_eq!(unread(&server, &alice).await, 1);

    // markNotificationsRead(upTo) marks that one and older; then unreadOnly is empty.
    let second = reply(&server, &bob, &post, "Again").await;
    assert!(!second.is_empty());
    let notes = inbox(&server, &alice, false).await;
    let older = notes[1]["id"].as_str().unwrap().to_string();
    let mark = "mutation($u: ID) { markNotificationsRead(upTo: $u) }";
    let marked = server
        .gql_as(Some(&alice), mark, json!({ "u": older }))
        .await;
    assert_eq!(marked["data"]["markNotificationsRead"], 1, "{marked}");
    let unread_notes = inbox(&server, &alice, true).await;
    assert_eq!(unread_notes.len(), 1);
    assert_eq!(unread_notes[0]["kind"], "POST_REPLIED");
    // A read like notification stays when the like is taken back.
    set_liked(&server, &bob, &post, false).await;
    assert_eq!(inbox(&server, &alice, false).await.len(), 2);
    let marked = server.gql_as(Some(&alice), mark, json!({})).await;
    assert_eq!(marked["data"]["markNotificationsRead"], 1);
    assert_eq!(unread(&server, &alice).await, 0);

    // Someone else's notification cannot be named; anonymous viewers get nothing.
    let foreign = server.gql_as(Some(&bob), mark, json!({ "u": older })).await;
    assert_eq!(error_code(&foreign), Some("BAD_USER_INPUT"), "{foreign}");
    let anonymous = server.gql("{ unreadNotificationCount }", json!({})).await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_page_by_keyset() {
    let server = TestServer::start().await;
    let alice = sign_up(&server, "alice@example.com", PASSWORD).await;
    let bob = sign_up(&server, "bob@example.com", PASSWORD).await;
    let post = create_post(&server, &alice, "Day 1", "PUBLISHED").await;
    for n in 0..5 {
        reply(&server, &bob, &post, &format!("reply {n}")).await;
    }
    let page = "query($a: String) { notifications(first: 2, after: $a) { edges { cursor node { reply { content } } } pageInfo { hasNextPage endCursor } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    for _ in 0..5 {
        let body = server
            .gql_as(Some(&alice), page, json!({ "a": after }))
            .await;
        let connection = &body["data"]["notifications"];
        for edge in connection["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
        {
            seen.push(
                edge["node"]["reply"]["content"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        if connection["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(
        seen,
        ["reply 4", "reply 3", "reply 2", "reply 1", "reply 0"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_made_on_one_instance_reach_subscribers_on_the_other() {
    let (a, b) = two_instances().await;
    let alice = sign_up(&a, "alice@example.com", PASSWORD).await;
    let bob = sign_up(&b, "bob@example.com", PASSWORD).await;
    let post = create_post(&a, &alice, "Day 1", "PUBLISHED").await;

    let mut socket = WsClient::connect(&a, Some(&alice)).await;
    let vars = json!({ "p": post });
    socket
        .subscribe(
            "replies",
            "subscription($p: ID!) { replyAdded(postId: $p) { content author { name } } }",
            vars.clone(),
        )
        .await;
    socket
        .subscribe(
            "post",
            "subscription($p: ID!) { postUpdated(postId: $p) { likeCount replyCount likedByMe } }",
            vars,
        )
        .await;
    socket
        .subscribe(
            "feed",
            "subscription { feedPostPublished { title author { name } } }",
            json!({}),
        )
        .await;
    socket
        .subscribe(
            "inbox",
            "subscription { notificationAdded { kind actor { name } post { title } } }",
            json!({}),
        )
        .await;
    wait_for_subscribers(&a, 4).await;

    let started = Instant::now();
    reply(&b, &bob, &post, "Well done").await;
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(socket.next().await);
    }
    let by_id = |id: &str| -> Value {
        got.iter()
            .find_map(|received| match received {
                Received::Message(message) if message["id"] == id => Some(message.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no message for {id} in {got:?}"))
    };
    assert_eq!(
        by_id("replies")["payload"]["data"]["replyAdded"]["content"],
        "Well done"
    );
    assert_eq!(
        by_id("post")["payload"]["data"]["postUpdated"]["replyCount"],
        1
    );
    let note = by_id("inbox");
    assert_eq!(
        note["payload"]["data"]["notificationAdded"]["kind"],
        "POST_REPLIED"
    );
    assert_eq!(
        note["payload"]["data"]["notificationAdded"]["post"]["title"],
        "Day 1"
    );
    eprintln!(
        "reply to three streams across instances: {:?}",
        started.elapsed()
    );

    set_liked(&b, &bob, &post, true).await;
    let mut got = Vec::new();
    for _ in 0..2 {
        got.push(socket.next().await);
    }
    let by_id = |id: &str| -> Value {
        got.iter()
            .find_map(|received| match received {
                Received::Message(message) if message["id"] == id => Some(message.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no message for {id} in {got:?}"))
    };
    let updated = &by_id("post")["payload"]["data"]["postUpdated"];
    assert_eq!(updated["likeCount"], 1);
    assert_eq!(
        updated["likedByMe"], false,
        "seen with the subscriber's own eyes"
    );
    assert_eq!(
        by_id("inbox")["payload"]["data"]["notificationAdded"]["kind"],
        "POST_LIKED"
    );

    create_post(&b, &bob, "Bob's day", "PUBLISHED").await;
    let published = socket.next_for("feed").await;
    assert_eq!(
        published["payload"]["data"]["feedPostPublished"]["title"],
        "Bob's day"
    );
    assert_eq!(
        published["payload"]["data"]["feedPostPublished"]["author"]["name"],
        "Ada"
    );

    // Deleting the post ends its streams.
    let deleted = a
        .gql_as(
            Some(&alice),
            "mutation($id: ID!) { deletePost(id: $id) }",
            json!({ "id": post }),
        )
        .await;
    assert_eq!(deleted["data"]["deletePost"], true);
    let mut completed = Vec::new();
    for _ in 0..2 {
        let message = match socket.next().await {
            Received::Message(message) => message,
            other => panic!("{other:?}"),
        };
        assert_eq!(message["type"], "complete", "{message}");
        completed.push(message["id"].as_str().unwrap().to_string());
    }
    completed.sort();
    assert_eq!(completed, ["post", "replies"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_and_other_users_notifications_never_arrive() {
    let (a, b) = two_instances().await;
    let alice = sign_up(&a, "alice@example.com", PASSWORD).await;
    let bob = sign_up(&b, "bob@example.com", PASSWORD).await;
    let carol = sign_up(&b, "carol@example.com", PASSWORD).await;
    let alices_post = create_post(&a, &alice, "Alice's", "PUBLISHED").await;
    let draft = create_post(&b, &bob, "Secret draft", "DRAFT").await;

    let mut socket = WsClient::connect(&a, Some(&carol)).await;
    socket
        .subscribe(
            "feed",
            "subscription { feedPostPublished { title } }",
            json!({}),
        )
        .await;
    socket
        .subscribe(
            "inbox",
            "subscription { notificationAdded { kind } }",
            json!({}),
        )
        .await;
    // Someone else's draft cannot be watched.
    socket
        .subscribe(
            "draft",
            "subscription($p: ID!) { postUpdated(postId: $p) { title } }",
            json!({ "p": draft }),
        )
        .await;
    let refused = socket.next_for("draft").await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{refused}"
    );
    assert_eq!(socket.next_for("draft").await["type"], "complete");
    wait_for_subscribers(&a, 2).await;

    // A new draft, an edit of the draft, and Alice's notification: none reach Carol.
    create_post(&b, &bob, "Another draft", "DRAFT").await;
    let edit = b
        .gql_as(
            Some(&bob),
            "mutation($id: ID!) { updatePost(id: $id, input: { title: \"Still secret\" }) { id } }",
            json!({ "id": draft }),
        )
        .await;
    assert!(edit["errors"].is_null(), "{edit}");
    set_liked(&b, &bob, &alices_post, true).await;
    // Then the draft is published: that is the first thing Carol hears.
    let publish = b
        .gql_as(
            Some(&bob),
            "mutation($id: ID!) { updatePost(id: $id, input: { status: PUBLISHED }) { id } }",
            json!({ "id": draft }),
        )
        .await;
    assert!(publish["errors"].is_null(), "{publish}");
    let first = socket.next_for("feed").await;
    assert_eq!(
        first["payload"]["data"]["feedPostPublished"]["title"],
        "Still secret"
    );

    // Anonymous sockets watch public things, but have no notifications.
    let mut anonymous = WsClient::connect(&a, None).await;
    anonymous
        .subscribe(
            "inbox",
            "subscription { notificationAdded { kind } }",
            json!({}),
        )
        .await;
    let refused = anonymous.next_for("inbox").await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_closes_that_sessions_sockets() {
    let (a, b) = two_instances().await;
    let alice = sign_up(&a, "alice@example.com", PASSWORD).await;
    let other_session = sign_in(&b, "alice@example.com").await;
    let mut leaving = WsClient::connect(&a, Some(&alice)).await;
    let mut staying = WsClient::connect(&a, Some(&other_session)).await;
    staying
        .subscribe(
            "feed",
            "subscription { feedPostPublished { title } }",
            json!({}),
        )
        .await;
    wait_for_subscribers(&a, 1).await;

    let out = b
        .gql_as(Some(&alice), "mutation { signOut }", json!({}))
        .await;
    assert_eq!(out["data"]["signOut"], true, "{out}");
    let (code, reason) = leaving.closed().await;
    assert_eq!(code, 4403, "{reason}");

    // The other session's socket still delivers; then signing out everywhere ends it.
    create_post(&b, &other_session, "Still here", "PUBLISHED").await;
    let still = staying.next_for("feed").await;
    assert_eq!(
        still["payload"]["data"]["feedPostPublished"]["title"],
        "Still here"
    );
    let everywhere = b
        .gql_as(
            Some(&other_session),
            "mutation { signOutEverywhere }",
            json!({}),
        )
        .await;
    assert!(everywhere["errors"].is_null(), "{everywhere}");
    assert_eq!(staying.closed().await.0, 4403);

    // The ended token cannot open a new socket.
    let mut again = WsClient::open(&a, &[]).await;
    again
        .send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {alice}") } }))
        .await;
    assert_eq!(again.closed().await.0, 4403);
}

async fn sign_in(server: &TestServer, email: &str) -> String {
    let body = server
        .gql(
            "mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }",
            json!({ "e": email, "p": PASSWORD }),
        )
        .await;
    body["data"]["signIn"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_reconnects_after_its_connection_dies() {
    let (a, b) = two_instances().await;
    let alice = sign_up(&a, "alice@example.com", PASSWORD).await;
    let bob = sign_up(&b, "bob@example.com", PASSWORD).await;
    let post = create_post(&a, &alice, "Day 1", "PUBLISHED").await;
    let mut socket = WsClient::connect(&a, Some(&alice)).await;
    socket
        .subscribe(
            "post",
            "subscription($p: ID!) { postUpdated(postId: $p) { likeCount } }",
            json!({ "p": post }),
        )
        .await;
    wait_for_subscribers(&a, 1).await;

    // Kill both instances' listening backends, as a database restart would.
    let client = a.db.client().await;
    let name = a.db.url.database_name().to_string();
    let killed = client
        .query(
            "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = $1 AND application_name = 'growth-diary-listener'",
            &[&name],
        )
        .await
        .unwrap();
    assert_eq!(killed.len(), 2, "one listener per instance");
    let old: Vec<i32> = killed.iter().map(|row| row.get(0)).collect();

    // The subscriber is told it may have missed events once its instance listens again.
    let told = socket.next_for("post").await;
    let message = told["payload"]["errors"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("missed events"), "{told}");

    // Instance B's listener is back too (it is not needed for this delivery,
    // but both reconnect); then an event made on B reaches A's subscriber.
    let deadline = Instant::now() + crate::harness::ws::DEADLINE;
    loop {
        let listening: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = $1 AND application_name = 'growth-diary-listener'
                   AND query LIKE 'LISTEN%' AND state = 'idle' AND NOT (pid = ANY($2))",
                &[&name, &old],
            )
            .await
            .unwrap()
            .get(0);
        if listening == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "the listeners did not come back");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    set_liked(&b, &bob, &post, true).await;
    let updated = socket.next_for("post").await;
    assert_eq!(
        updated["payload"]["data"]["postUpdated"]["likeCount"], 1,
        "{updated}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_protocol_close_codes() {
    let db = Arc::new(TestDb::new().await);
    let server = TestServer::start_with(db, |config| {
        config.live.ws_init_timeout_secs = 1;
        config.live.ws_max_subscriptions = 2;
        config.live.ws_max_sockets_per_user = 1;
        config.live.ws_max_message_bytes = 2048;
    })
    .await;
    let token = sign_up(&server, "alice@example.com", PASSWORD).await;

    let mut silent = WsClient::open(&server, &[]).await;
    assert_eq!(silent.closed().await.0, 4408, "no connection_init in time");

    let mut early = WsClient::open(&server, &[]).await;
    early
        .subscribe("1", "subscription { feedPostPublished { id } }", json!({}))
        .await;
    assert_eq!(early.closed().await.0, 4401, "subscribe before the ack");

    let mut garbage = WsClient::connect(&server, None).await;
    garbage.send_text("{not json").await;
    assert_eq!(garbage.closed().await.0, 4400);

    let mut twice = WsClient::connect(&server, None).await;
    twice.send(json!({ "type": "connection_init" })).await;
    assert_eq!(twice.closed().await.0, 4429);

    let mut bad_token = WsClient::open(&server, &[]).await;
    bad_token
        .send(json!({ "type": "connection_init", "payload": { "authorization": "Bearer nope" } }))
        .await;
    assert_eq!(bad_token.closed().await.0, 4403);

    // Under the limit but over the socket's 1 KiB read buffer: read in chunks.
    let mut roomy = WsClient::connect(&server, None).await;
    roomy
        .send_text(&format!(
            r#"{{"type":"ping","payload":{{"note":"{}"}}}}"#,
            "x".repeat(1500)
        ))
        .await;
    match roomy.next().await {
        Received::Message(message) => assert_eq!(message["type"], "pong", "{message}"),
        other => panic!("a 1.5 KiB ping is answered, not {other:?}"),
    }

    let mut big = WsClient::connect(&server, None).await;
    big.send_text(&format!(
        r#"{{"type":"ping","payload":"{}"}}"#,
        "x".repeat(4096)
    ))
    .await;
    assert_eq!(
        big.closed().await.0,
        1009,
        "message over WS_MAX_MESSAGE_BYTES"
    );

    // Per socket: duplicate ids and the subscription limit.
    let mut socket = WsClient::connect(&server, Some(&token)).await;
    let feed = "subscription { feedPostPublished { id } }";
    socket.subscribe("a", feed, json!({})).await;
    socket.subscribe("b", feed, json!({})).await;
    socket.subscribe("c", feed, json!({})).await;
    let refused = socket.next_for("c").await;
    assert_eq!(refused["type"], "error", "{refused}");
    socket.send(json!({ "type": "ping" })).await;
    match socket.next().await {
        Received::Message(message) => assert_eq!(message["type"], "pong"),
        other => panic!("{other:?}"),
    }
    // Per user: a second socket is refused while the first is open.
    let mut second = WsClient::open(&server, &[]).await;
    second
        .send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } }))
        .await;
    assert_eq!(second.closed().await.0, 1008);
    socket.subscribe("a", feed, json!({})).await;
    assert_eq!(socket.closed().await.0, 4409);

    // The cookie counts only from an allowed origin.
    let cookie = format!("growth_diary_session={token}");
    let mut foreign = WsClient::open(
        &server,
        &[("cookie", &cookie), ("origin", "https://evil.example")],
    )
    .await;
    foreign.send(json!({ "type": "connection_init" })).await;
    assert!(matches!(foreign.next().await, Received::Message(m) if m["type"] == "connection_ack"));
    foreign
        .subscribe(
            "inbox",
            "subscription { notificationAdded { kind } }",
            json!({}),
        )
        .await;
    let refused = foreign.next_for("inbox").await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_the_client_completes_hears_nothing_more() {
    let server = TestServer::start().await;
    let alice = sign_up(&server, "alice@example.com", PASSWORD).await;
    let bob = sign_up(&server, "bob@example.com", PASSWORD).await;
    let post = create_post(&server, &alice, "Day 1", "PUBLISHED").await;
    let watch = "subscription($p: ID!) { postUpdated(postId: $p) { likeCount } }";
    let mut socket = WsClient::connect(&server, Some(&alice)).await;
    socket.subscribe("first", watch, json!({ "p": post })).await;
    socket
        .subscribe("second", watch, json!({ "p": post }))
        .await;
    wait_for_subscribers(&server, 2).await;

    socket
        .send(json!({ "id": "first", "type": "complete" }))
        .await;
    // Messages are handled in order: the pong means the complete was too.
    socket.send(json!({ "type": "ping" })).await;
    match socket.next().await {
        Received::Message(message) => assert_eq!(message["type"], "pong", "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.ws.hub.routed(), 1);

    set_liked(&server, &bob, &post, true).await;
    let updated = socket.next_for("second").await;
    assert_eq!(
        updated["payload"]["data"]["postUpdated"]["likeCount"], 1,
        "{updated}"
    );
    // Both subscriptions' messages of one event go out together: had
    // "first" still run, its message would come before this pong.
    socket.send(json!({ "type": "ping" })).await;
    match socket.next().await {
        Received::Message(message) => assert_eq!(message["type"], "pong", "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_are_capped_per_address_and_closed_when_the_server_stops() {
    let db = Arc::new(TestDb::new().await);
    let mut server = TestServer::start_with(db, |config| {
        config.live.ws_max_sockets_per_address = 2;
    })
    .await;
    let mut first = WsClient::connect(&server, None).await;
    let second = WsClient::connect(&server, None).await;
    let (status, retry_after) = WsClient::refused(&server).await;
    assert_eq!(status, 429, "a third socket from 127.0.0.1");
    assert!(retry_after.is_some());

    // A closed socket frees its place.
    drop(second);
    let deadline = tokio::time::Instant::now() + crate::harness::ws::DEADLINE;
    while server.ws.capacity.open() > 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place was not freed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let _again = WsClient::connect(&server, None).await;

    // Stopping (SIGTERM) closes open sockets with 1001, so clients reconnect elsewhere.
    first
        .subscribe(
            "feed",
            "subscription { feedPostPublished { id } }",
            json!({}),
        )
        .await;
    wait_for_subscribers(&server, 1).await;
    server.stop();
    let (code, reason) = first.closed().await;
    assert_eq!(code, 1001, "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_selects_one_root_field_and_a_socket_keeps_little_text() {
    let server = TestServer::start().await;
    let mut socket = WsClient::connect(&server, None).await;
    socket
        .subscribe(
            "two",
            "subscription { a: feedPostPublished { id } b: feedPostPublished { title } }",
            json!({}),
        )
        .await;
    let refused = socket.next_for("two").await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );

    // Each event a subscription wants parses its text again, so a socket
    // keeps at most 16 KiB of it: a 10 KB document fits once, not twice.
    let padded = format!(
        "subscription {{ feedPostPublished {{ id }} }} # {}",
        "x".repeat(10_000)
    );
    socket.subscribe("big", &padded, json!({})).await;
    socket.subscribe("bigger", &padded, json!({})).await;
    let refused = socket.next_for("bigger").await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    wait_for_subscribers(&server, 1).await;
    assert_eq!(server.ws.hub.routed(), 1, "only the first is kept");
    // A subscription that fails its check leaves no route behind either.
    socket
        .subscribe(
            "missing",
            "subscription($p: ID!) { postUpdated(postId: $p) { id } }",
            json!({ "p": "00000000-0000-7000-8000-000000000000" }),
        )
        .await;
    let refused = socket.next_for("missing").await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{refused}"
    );
    assert_eq!(socket.next_for("missing").await["type"], "complete");
    assert_eq!(
        server.ws.hub.routed(),
        1,
        "routes match the subscriptions kept"
    );
    drop(socket);
    let deadline = tokio::time::Instant::now() + crate::harness::ws::DEADLINE;
    while server.ws.hub.routed() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a closed socket left its routes"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
