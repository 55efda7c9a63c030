//! The social core end to end: goals, posts, likes, replies, the feed, its
//! pagination and its statement count.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::harness::server::{error_code, sign_up};
use crate::harness::{TestServer, factories};

const PASSWORD: &str = "correct horse battery";

async fn two_users(server: &TestServer) -> (String, String) {
    (
        sign_up(server, "alice@example.com", PASSWORD).await,
        sign_up(server, "bob@example.com", PASSWORD).await,
    )
}

async fn create_post(server: &TestServer, token: &str, title: &str, status: &str) -> String {
    let body = server
        .gql_as(
            Some(token),
            "mutation($i: CreatePostInput!) { createPost(input: $i) { id status } }",
            json!({ "i": { "title": title, "content": "Today I learned", "status": status } }),
        )
        .await;
    body["data"]["createPost"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

fn field(body: &Value) -> &str {
    body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goals_are_private_validated_and_earn_points() {
    let server = TestServer::start().await;
    let (alice, bob) = two_users(&server).await;
    let create = "mutation($i: CreateGoalInput!) { createGoal(input: $i) { id status completedAt startDate } }";
    let body = server
        .gql_as(Some(&alice), create, json!({ "i": { "title": " Learn Rust ", "period": "WEEKLY", "deadline": "2030-01-07T00:00:00Z" } }))
        .await;
    let goal = body["data"]["createGoal"].clone();
    assert_eq!(goal["status"], "ACTIVE", "{body}");
    let id = goal["id"].as_str().unwrap().to_string();

    let bad_dates = server
        .gql_as(Some(&alice), create, json!({ "i": { "title": "x", "period": "DAILY", "startDate": "2030-01-02T00:00:00Z", "deadline": "2030-01-01T00:00:00Z" } }))
        .await;
    assert_eq!(
        (error_code(&bad_dates), field(&bad_dates)),
        (Some("BAD_USER_INPUT"), "deadline")
    );
    for title in ["", &"t".repeat(201)] {
        let bad = server
            .gql_as(Some(&alice), create, json!({ "i": { "title": title, "period": "DAILY", "deadline": "2030-01-01T00:00:00Z" } }))
            .await;
        assert_eq!(
            (error_code(&bad), field(&bad)),
            (Some("BAD_USER_INPUT"), "title")
        );
    }

    let update = "mutation($id: ID!, $i: UpdateGoalInput!) { updateGoal(id: $id, input: $i) { status completedAt } }";
    let score = |token: String| {
        let server = &server;
        async move {
            server
                .gql_as(Some(&token), "{ me { achievementScore } }", json!({}))
                .await["data"]["me"]["achievementScore"]
                .as_i64()
        }
    };
    let done = server
        .gql_as(
            Some(&alice),
            update,
            json!({ "id": id, "i": { "status": "COMPLETED" } }),
        )
        .await;
    assert!(
        done["data"]["updateGoal"]["completedAt"].is_string(),
        "{done}"
    );
    assert_eq!(score(alice.clone()).await, Some(5));
    let reopened = server
        .gql_as(
            Some(&alice),
            update,
            json!({ "id": id, "i": { "status": "ACTIVE" } }),
        )
        .await;
    assert_eq!(reopened["data"]["updateGoal"]["completedAt"], Value::Null);
    assert_eq!(score(alice.clone()).await, Some(0));
    server
        .gql_as(
            Some(&alice),
            update,
            json!({ "id": id, "i": { "status": "COMPLETED", "period": "YEARLY" } }),
        )
        .await;
    assert_eq!(score(alice.clone()).await, Some(100));

    let forbidden = server
        .gql_as(
            Some(&bob),
            update,
            json!({ "id": id, "i": { "title": "mine now" } }),
        )
        .await;
    assert_eq!(error_code(&forbidden), Some("FORBIDDEN"));
    let alice_id = server
        .gql_as(Some(&alice), "{ me { id } }", json!({}))
        .await["data"]["me"]["id"]
        .clone();
    let peek = server
        .gql_as(
            Some(&bob),
            "query($id: ID!) { user(id: $id) { goals { edges { node { id } } } } }",
            json!({ "id": alice_id }),
        )
        .await;
    assert_eq!(error_code(&peek), Some("FORBIDDEN"));
    let own = server
        .gql_as(
            Some(&alice),
            "{ me { goals(status: COMPLETED) { edges { node { id } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        own["data"]["me"]["goals"]["edges"][0]["node"]["id"],
        id.as_str()
    );

    let deleted = server
        .gql_as(
            Some(&alice),
            "mutation($id: ID!) { deleteGoal(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(deleted["data"]["deleteGoal"], true);
    assert_eq!(
        score(alice.clone()).await,
        Some(0),
        "a deleted goal's points go with it"
    );
    let gone = server
        .gql_as(
            Some(&alice),
            update,
            json!({ "id": id, "i": { "title": "again" } }),
        )
        .await;
    assert_eq!(error_code(&gone), Some("NOT_FOUND"));
    let listed = server
        .gql_as(
            Some(&alice),
            "{ me { goals { edges { node { id } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["data"]["me"]["goals"]["edges"], json!([]));
    let rows: i64 = server
        .db
        .client()
        .await
        .query_one("SELECT count(*) FROM goals", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 1, "soft-deleted goals stay in the table");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_are_seen_only_by_their_author_and_only_authors_edit() {
    let server = TestServer::start().await;
    let (alice, bob) = two_users(&server).await;
    let draft = create_post(&server, &alice, "Draft", "DRAFT").await;
    let published = create_post(&server, &alice, "Published", "PUBLISHED").await;
    let read = "query($id: ID!) { post(id: $id) { title status } }";
    assert_eq!(
        server
            .gql_as(Some(&bob), read, json!({ "id": draft }))
            .await["data"]["post"],
        Value::Null
    );
    assert_eq!(
        server.gql(read, json!({ "id": draft })).await["data"]["post"],
        Value::Null
    );
    assert_eq!(
        server
            .gql_as(Some(&alice), read, json!({ "id": draft }))
            .await["data"]["post"]["title"],
        "Draft"
    );
    assert_eq!(
        server.gql(read, json!({ "id": published })).await["data"]["post"]["title"],
        "Published"
    );

    let feed = server
        .gql("{ feed { edges { node { id } } } }", json!({}))
        .await;
    let ids: Vec<&str> = feed["data"]["feed"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![published.as_str()],
        "the feed holds published posts only"
    );
    let own_posts = server
        .gql_as(
            Some(&alice),
            "{ me { posts { edges { node { id } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        own_posts["data"]["me"]["posts"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "authors see their drafts"
    );
    let alice_id = server
        .gql_as(Some(&alice), "{ me { id } }", json!({}))
        .await["data"]["me"]["id"]
        .clone();
    let theirs = server
        .gql_as(
            Some(&bob),
            "query($id: ID!) { user(id: $id) { posts { edges { node { id } } } } }",
            json!({ "id": alice_id }),
        )
        .await;
    assert_eq!(
        theirs["data"]["user"]["posts"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let update =
        "mutation($id: ID!, $i: UpdatePostInput!) { updatePost(id: $id, input: $i) { title } }";
    assert_eq!(
        error_code(
            &server
                .gql_as(
                    Some(&bob),
                    update,
                    json!({ "id": published, "i": { "title": "x" } })
                )
                .await
        ),
        Some("FORBIDDEN")
    );
    assert_eq!(
        error_code(
            &server
                .gql_as(
                    Some(&bob),
                    update,
                    json!({ "id": draft, "i": { "title": "x" } })
                )
                .await
        ),
        Some("NOT_FOUND")
    );
    assert_eq!(
        error_code(
            &server
                .gql_as(None, update, json!({ "id": draft, "i": { "title": "x" } }))
                .await
        ),
        Some("UNAUTHENTICATED")
    );
    let long = server
        .gql_as(
            Some(&alice),
            update,
            json!({ "id": published, "i": { "content": "x".repeat(50_001) } }),
        )
        .await;
    assert_eq!(
        (error_code(&long), field(&long)),
        (Some("BAD_USER_INPUT"), "content")
    );
    let malformed = server
        .gql_as(
            Some(&alice),
            update,
            json!({ "id": "nope", "i": { "title": "x" } }),
        )
        .await;
    assert_eq!(
        (error_code(&malformed), field(&malformed)),
        (Some("BAD_USER_INPUT"), "id")
    );
    let edited = server
        .gql_as(
            Some(&alice),
            update,
            json!({ "id": published, "i": { "title": "Edited" } }),
        )
        .await;
    assert_eq!(edited["data"]["updatePost"]["title"], "Edited");

    let delete = "mutation($id: ID!) { deletePost(id: $id) }";
    assert_eq!(
        error_code(
            &server
                .gql_as(Some(&bob), delete, json!({ "id": published }))
                .await
        ),
        Some("FORBIDDEN")
    );
    assert_eq!(
        server
            .gql_as(Some(&alice), delete, json!({ "id": published }))
            .await["data"]["deletePost"],
        true
    );
    assert_eq!(
        server.gql(read, json!({ "id": published })).await["data"]["post"],
        Value::Null
    );
    assert_eq!(
        error_code(
            &server
                .gql_as(
                    Some(&alice),
                    update,
                    json!({ "id": published, "i": { "title": "x" } })
                )
                .await
        ),
        Some("NOT_FOUND")
    );
    assert_eq!(
        error_code(
            &server
                .gql_as(Some(&alice), delete, json!({ "id": published }))
                .await
        ),
        Some("NOT_FOUND")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn likes_are_idempotent_and_never_on_drafts() {
    let server = TestServer::start().await;
    let (alice, bob) = two_users(&server).await;
    let post = create_post(&server, &alice, "Likeable", "PUBLISHED").await;
    let draft = create_post(&server, &alice, "Draft", "DRAFT").await;
    let like = "mutation($id: ID!) { likePost(postId: $id) { likeCount likedByMe updatedAt } }";
    let unlike = "mutation($id: ID!) { unlikePost(postId: $id) { likeCount likedByMe } }";
    let first = server.gql_as(Some(&bob), like, json!({ "id": post })).await;
    let second = server.gql_as(Some(&bob), like, json!({ "id": post })).await;
    assert_eq!(first["data"]["likePost"]["likeCount"], 1, "{first}");
    assert_eq!(second["data"]["likePost"]["likeCount"], 1);
    assert_eq!(second["data"]["likePost"]["likedByMe"], true);
    assert_eq!(
        first["data"]["likePost"]["updatedAt"], second["data"]["likePost"]["updatedAt"],
        "a like is not an edit"
    );
    let anonymous = server
        .gql(
            "query($id: ID!) { post(id: $id) { likeCount likedByMe } }",
            json!({ "id": post }),
        )
        .await;
    assert_eq!(
        anonymous["data"]["post"],
        json!({ "likeCount": 1, "likedByMe": false })
    );
    for _ in 0..2 {
        let body = server
            .gql_as(Some(&bob), unlike, json!({ "id": post }))
            .await;
        assert_eq!(
            body["data"]["unlikePost"],
            json!({ "likeCount": 0, "likedByMe": false })
        );
    }
    let own_draft = server
        .gql_as(Some(&alice), like, json!({ "id": draft }))
        .await;
    assert_eq!(
        (error_code(&own_draft), field(&own_draft)),
        (Some("BAD_USER_INPUT"), "postId")
    );
    assert_eq!(
        error_code(
            &server
                .gql_as(Some(&bob), like, json!({ "id": draft }))
                .await
        ),
        Some("NOT_FOUND")
    );
    assert_eq!(
        error_code(&server.gql(like, json!({ "id": post })).await),
        Some("UNAUTHENTICATED")
    );
    let unknown = server
        .gql_as(
            Some(&bob),
            like,
            json!({ "id": uuid::Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(error_code(&unknown), Some("NOT_FOUND"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_follow_their_rules() {
    let server = TestServer::start().await;
    let (alice, bob) = two_users(&server).await;
    let carol = sign_up(&server, "carol@example.com", PASSWORD).await;
    let post = create_post(&server, &alice, "Discuss", "PUBLISHED").await;
    let create = "mutation($p: ID!, $c: String!) { createReply(postId: $p, content: $c) { id content author { name } post { id } } }";
    let reply = server
        .gql_as(Some(&bob), create, json!({ "p": post, "c": "Nice!" }))
        .await;
    let reply_id = reply["data"]["createReply"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{reply}"))
        .to_string();
    assert_eq!(reply["data"]["createReply"]["post"]["id"], post.as_str());
    let second = server
        .gql_as(Some(&carol), create, json!({ "p": post, "c": "Agreed" }))
        .await;
    let second_id = second["data"]["createReply"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (content, why) in [(" ".to_string(), "blank"), ("x".repeat(10_001), "too long")] {
        let bad = server
            .gql_as(Some(&bob), create, json!({ "p": post, "c": content }))
            .await;
        assert_eq!(
            (error_code(&bad), field(&bad)),
            (Some("BAD_USER_INPUT"), "content"),
            "{why}"
        );
    }
    let listed = server.gql("query($id: ID!) { post(id: $id) { replyCount replies { edges { node { content } } } } }", json!({ "id": post })).await;
    assert_eq!(listed["data"]["post"]["replyCount"], 2);
    assert_eq!(
        listed["data"]["post"]["replies"]["edges"][0]["node"]["content"], "Nice!",
        "oldest first"
    );

    let update =
        "mutation($id: ID!, $c: String!) { updateReply(id: $id, content: $c) { content } }";
    assert_eq!(
        error_code(
            &server
                .gql_as(
                    Some(&alice),
                    update,
                    json!({ "id": reply_id, "c": "edited" })
                )
                .await
        ),
        Some("FORBIDDEN")
    );
    assert_eq!(
        server
            .gql_as(Some(&bob), update, json!({ "id": reply_id, "c": "edited" }))
            .await["data"]["updateReply"]["content"],
        "edited"
    );

    let delete = "mutation($id: ID!) { deleteReply(id: $id) }";
    assert_eq!(
        error_code(
            &server
                .gql_as(Some(&carol), delete, json!({ "id": reply_id }))
                .await
        ),
        Some("FORBIDDEN")
    );
    assert_eq!(
        server
            .gql_as(Some(&alice), delete, json!({ "id": reply_id }))
            .await["data"]["deleteReply"],
        true,
        "the post's author may delete"
    );
    assert_eq!(
        server
            .gql_as(Some(&carol), delete, json!({ "id": second_id }))
            .await["data"]["deleteReply"],
        true,
        "the reply's author may delete"
    );
    assert_eq!(
        error_code(
            &server
                .gql_as(Some(&bob), update, json!({ "id": reply_id, "c": "again" }))
                .await
        ),
        Some("NOT_FOUND")
    );
    let after = server
        .gql(
            "query($id: ID!) { post(id: $id) { replyCount replies { edges { node { id } } } } }",
            json!({ "id": post }),
        )
        .await;
    assert_eq!(
        after["data"]["post"],
        json!({ "replyCount": 0, "replies": { "edges": [] } })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_default_to_20_cap_at_100_and_check_cursors() {
    let server = TestServer::start().await;
    factories::social_graph(&server.db.client().await, 130, 0, 0).await;
    let count = |body: &Value| body["data"]["feed"]["edges"].as_array().map(Vec::len);
    assert_eq!(
        count(&server.gql("{ feed { edges { cursor } } }", json!({})).await),
        Some(20)
    );
    assert_eq!(
        count(
            &server
                .gql("{ feed(first: 500) { edges { cursor } } }", json!({}))
                .await
        ),
        Some(100)
    );
    let bad = server
        .gql(
            "{ feed(first: 5, after: \"not-a-cursor\") { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        (error_code(&bad), field(&bad)),
        (Some("BAD_USER_INPUT"), "after")
    );
    let negative = server
        .gql("{ feed(first: -1) { edges { cursor } } }", json!({}))
        .await;
    assert_eq!(
        (error_code(&negative), field(&negative)),
        (Some("BAD_USER_INPUT"), "first")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_the_feed_during_inserts_skips_and_repeats_nothing() {
    let server = TestServer::start().await;
    let client = server.db.client().await;
    factories::social_graph(&client, 45, 0, 0).await;
    let author = sign_up(&server, "writer@example.com", PASSWORD).await;
    let original: HashSet<String> = client
        .query("SELECT id::text FROM posts", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let query = "query($after: String) { feed(first: 7, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        // A new post lands before every page.
        create_post(&server, &author, "Breaking news", "PUBLISHED").await;
        let page = server.gql(query, json!({ "after": after })).await;
        let feed = &page["data"]["feed"];
        seen.extend(
            feed["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["id"].as_str().unwrap().to_string()),
        );
        if feed["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = feed["pageInfo"]["endCursor"].clone();
    }
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no post appears twice");
    assert!(original.is_subset(&unique), "every older post is reached");
}

const FEED_PAGE: &str = "query($n: Int!) { feed(first: $n) { edges { node { id title author { id name } likeCount likedByMe replyCount
    replies(first: 3) { edges { node { id content author { id name } } } } } } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_page_costs_the_same_few_statements_whatever_its_size() {
    let server = TestServer::start().await;
    factories::social_graph(&server.db.client().await, 60, 5, 3).await;
    let token = sign_up(&server, "reader@example.com", PASSWORD).await;
    // Warm the pool: a new connection looks up the enum types' OIDs once.
    for _ in 0..3 {
        server
            .gql_as(Some(&token), FEED_PAGE, json!({ "n": 50 }))
            .await;
    }
    let mut counts = Vec::new();
    for n in [5, 50] {
        let before = server.services.statements.get();
        let body = server
            .gql_as(Some(&token), FEED_PAGE, json!({ "n": n }))
            .await;
        let statements = server.services.statements.get() - before;
        let edges = body["data"]["feed"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"));
        assert_eq!(edges.len(), n as usize);
        assert_eq!(
            edges[0]["node"]["replies"]["edges"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        assert!(edges[0]["node"]["replies"]["edges"][0]["node"]["author"]["name"].is_string());
        assert_eq!(edges[0]["node"]["likeCount"], 3);
        counts.push(statements);
    }
    eprintln!("statements per feed page (5 and 50 posts): {counts:?}");
    assert_eq!(
        counts[0], counts[1],
        "statements for 5 and 50 posts: {counts:?}"
    );
    assert!(counts[1] <= 8, "a feed page took {} statements", counts[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_after_a_write_in_the_same_request_see_the_write() {
    let server = TestServer::start().await;
    let (alice, bob) = two_users(&server).await;
    let post = create_post(&server, &alice, "Fresh", "PUBLISHED").await;
    let body = server
        .gql_as(
            Some(&bob),
            "mutation($id: ID!) { a: unlikePost(postId: $id) { likedByMe likeCount } b: likePost(postId: $id) { likedByMe likeCount } }",
            json!({ "id": post }),
        )
        .await;
    assert_eq!(
        body["data"]["a"],
        json!({ "likedByMe": false, "likeCount": 0 })
    );
    assert_eq!(
        body["data"]["b"],
        json!({ "likedByMe": true, "likeCount": 1 }),
        "{body}"
    );
}
