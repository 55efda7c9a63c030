//! The social core end to end: goals, posts, likes, replies, the feed, its
//! pagination and its statement count.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::harness::server::{TestUser, error_code};
use crate::harness::{TestServer, factories};

async fn two_users(server: &TestServer) -> (TestUser<'_>, TestUser<'_>) {
    (
        server.sign_up("alice@example.com").await,
        server.sign_up("bob@example.com").await,
    )
}

async fn score(user: &TestUser<'_>) -> Option<i64> {
    user.gql("{ me { achievementScore } }", json!({})).await["data"]["me"]["achievementScore"]
        .as_i64()
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
    let body = alice.gql(create, json!({ "i": { "title": " Learn Rust ", "period": "WEEKLY", "deadline": "2030-01-07T00:00:00Z" } }))
        .await;
    let goal = body["data"]["createGoal"].clone();
    assert_eq!(goal["status"], "ACTIVE", "{body}");
    let id = goal["id"].as_str().unwrap().to_string();

    let bad_dates = alice.gql(create, json!({ "i": { "title": "x", "period": "DAILY", "startDate": "2030-01-02T00:00:00Z", "deadline": "2030-01-01T00:00:00Z" } }))
        .await;
    assert_eq!(
        (error_code(&bad_dates), field(&bad_dates)),
        (Some("BAD_USER_INPUT"), "deadline")
    );
    for title in ["", &"t".repeat(201)] {
        let bad = alice.gql(create, json!({ "i": { "title": title, "period": "DAILY", "deadline": "2030-01-01T00:00:00Z" } }))
            .await;
        assert_eq!(
            (error_code(&bad), field(&bad)),
            (Some("BAD_USER_INPUT"), "title")
        );
    }

    let update = "mutation($id: ID!, $i: UpdateGoalInput!) { updateGoal(id: $id, input: $i) { status completedAt } }";
    let done = alice
        .gql(update, json!({ "id": id, "i": { "status": "COMPLETED" } }))
        .await;
    assert!(
        done["data"]["updateGoal"]["completedAt"].is_string(),
        "{done}"
    );
    assert_eq!(score(&alice).await, Some(5));
    let reopened = alice
        .gql(update, json!({ "id": id, "i": { "status": "ACTIVE" } }))
        .await;
    assert_eq!(reopened["data"]["updateGoal"]["completedAt"], Value::Null);
    assert_eq!(score(&alice).await, Some(0));
    alice
        .gql(
            update,
            json!({ "id": id, "i": { "status": "COMPLETED", "period": "YEARLY" } }),
        )
        .await;
    assert_eq!(score(&alice).await, Some(100));

    let forbidden = bob
        .gql(update, json!({ "id": id, "i": { "title": "mine now" } }))
        .await;
    assert_eq!(error_code(&forbidden), Some("FORBIDDEN"));
    let alice_id = alice.id().await;
    let peek = bob
        .gql(
            "query($id: ID!) { user(id: $id) { goals { edges { node { id } } } } }",
            json!({ "id": alice_id }),
        )
        .await;
    assert_eq!(error_code(&peek), Some("FORBIDDEN"));
    let own = alice
        .gql(
            "{ me { goals(status: COMPLETED) { edges { node { id } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        own["data"]["me"]["goals"]["edges"][0]["node"]["id"],
        id.as_str()
    );

    let deleted = alice
        .gql(
            "mutation($id: ID!) { deleteGoal(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(deleted["data"]["deleteGoal"], true);
    assert_eq!(
        score(&alice).await,
        Some(0),
        "a deleted goal's points go with it"
    );
    let gone = alice
        .gql(update, json!({ "id": id, "i": { "title": "again" } }))
        .await;
    assert_eq!(error_code(&gone), Some("NOT_FOUND"));
    let listed = alice
        .gql("{ me { goals { edges { node { id } } } } }", json!({}))
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
    let draft = alice.post("Draft", "DRAFT").await;
    let published = alice.post("Published", "PUBLISHED").await;
    let read = "query($id: ID!) { post(id: $id) { title status } }";
    assert_eq!(
        bob.gql(read, json!({ "id": draft })).await["data"]["post"],
        Value::Null
    );
    assert_eq!(
        server.gql(read, json!({ "id": draft })).await["data"]["post"],
        Value::Null
    );
    assert_eq!(
        alice.gql(read, json!({ "id": draft })).await["data"]["post"]["title"],
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
    let own_posts = alice
        .gql("{ me { posts { edges { node { id } } } } }", json!({}))
        .await;
    assert_eq!(
        own_posts["data"]["me"]["posts"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "authors see their drafts"
    );
    let alice_id = alice.id().await;
    let theirs = bob
        .gql(
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
            &bob.gql(update, json!({ "id": published, "i": { "title": "x" } }))
                .await
        ),
        Some("FORBIDDEN")
    );
    assert_eq!(
        error_code(
            &bob.gql(update, json!({ "id": draft, "i": { "title": "x" } }))
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
    let long = alice
        .gql(
            update,
            json!({ "id": published, "i": { "content": "x".repeat(50_001) } }),
        )
        .await;
    assert_eq!(
        (error_code(&long), field(&long)),
        (Some("BAD_USER_INPUT"), "content")
    );
    let malformed = alice
        .gql(update, json!({ "id": "nope", "i": { "title": "x" } }))
        .await;
    assert_eq!(
        (error_code(&malformed), field(&malformed)),
        (Some("BAD_USER_INPUT"), "id")
    );
    let edited = alice
        .gql(
            update,
            json!({ "id": published, "i": { "title": "Edited" } }),
        )
        .await;
    assert_eq!(edited["data"]["updatePost"]["title"], "Edited");

    let delete = "mutation($id: ID!) { deletePost(id: $id) }";
    assert_eq!(
        error_code(&bob.gql(delete, json!({ "id": published })).await),
        Some("FORBIDDEN")
    );
    assert_eq!(
        alice.gql(delete, json!({ "id": published })).await["data"]["deletePost"],
        true
    );
    assert_eq!(
        server.gql(read, json!({ "id": published })).await["data"]["post"],
        Value::Null
    );
    assert_eq!(
        error_code(
            &alice
                .gql(update, json!({ "id": published, "i": { "title": "x" } }))
                .await
        ),
        Some("NOT_FOUND")
    );
    assert_eq!(
        error_code(&alice.gql(delete, json!({ "id": published })).await),
        Some("NOT_FOUND")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn likes_are_idempotent_and_never_on_drafts() {
    let server = TestServer::start().await;
    let (alice, bob) = two_users(&server).await;
    let post = alice.post("Likeable", "PUBLISHED").await;
    let draft = alice.post("Draft", "DRAFT").await;
    let like = "mutation($id: ID!) { likePost(postId: $id) { likeCount likedByMe updatedAt } }";
    let unlike = "mutation($id: ID!) { unlikePost(postId: $id) { likeCount likedByMe } }";
    let first = bob.gql(like, json!({ "id": post })).await;
    let second = bob.gql(like, json!({ "id": post })).await;
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
        let body = bob.gql(unlike, json!({ "id": post })).await;
        assert_eq!(
            body["data"]["unlikePost"],
            json!({ "likeCount": 0, "likedByMe": false })
        );
    }
    let own_draft = alice.gql(like, json!({ "id": draft })).await;
    assert_eq!(
        (error_code(&own_draft), field(&own_draft)),
        (Some("BAD_USER_INPUT"), "postId")
    );
    assert_eq!(
        error_code(&bob.gql(like, json!({ "id": draft })).await),
        Some("NOT_FOUND")
    );
    assert_eq!(
        error_code(&server.gql(like, json!({ "id": post })).await),
        Some("UNAUTHENTICATED")
    );
    let unknown = bob
        .gql(like, json!({ "id": uuid::Uuid::now_v7().to_string() }))
        .await;
    assert_eq!(error_code(&unknown), Some("NOT_FOUND"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_follow_their_rules() {
    let server = TestServer::start().await;
    let (alice, bob) = two_users(&server).await;
    let carol = server.sign_up("carol@example.com").await;
    let post = alice.post("Discuss", "PUBLISHED").await;
    let create = "mutation($p: ID!, $c: String!) { createReply(postId: $p, content: $c) { id content author { name } post { id } } }";
    let reply = bob.gql(create, json!({ "p": post, "c": "Nice!" })).await;
    let reply_id = reply["data"]["createReply"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{reply}"))
        .to_string();
    assert_eq!(reply["data"]["createReply"]["post"]["id"], post.as_str());
    let second = carol.gql(create, json!({ "p": post, "c": "Agreed" })).await;
    let second_id = second["data"]["createReply"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (content, why) in [(" ".to_string(), "blank"), ("x".repeat(10_001), "too long")] {
        let bad = bob.gql(create, json!({ "p": post, "c": content })).await;
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
            &alice
                .gql(update, json!({ "id": reply_id, "c": "edited" }))
                .await
        ),
        Some("FORBIDDEN")
    );
    assert_eq!(
        bob.gql(update, json!({ "id": reply_id, "c": "edited" }))
            .await["data"]["updateReply"]["content"],
        "edited"
    );

    let delete = "mutation($id: ID!) { deleteReply(id: $id) }";
    assert_eq!(
        error_code(&carol.gql(delete, json!({ "id": reply_id })).await),
        Some("FORBIDDEN")
    );
    assert_eq!(
        alice.gql(delete, json!({ "id": reply_id })).await["data"]["deleteReply"],
        true,
        "the post's author may delete"
    );
    assert_eq!(
        carol.gql(delete, json!({ "id": second_id })).await["data"]["deleteReply"],
        true,
        "the reply's author may delete"
    );
    assert_eq!(
        error_code(
            &bob.gql(update, json!({ "id": reply_id, "c": "again" }))
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
    let author = server.sign_up("writer@example.com").await;
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
    // 45 older posts in pages of 7, each page bringing one newer post that a
    // keyset cursor never returns: 7 pages; a cursor that repeats never ends.
    for page_number in 1.. {
        assert!(page_number <= 10, "the feed never ran out of pages");
        // A new post lands before every page.
        author.post("Breaking news", "PUBLISHED").await;
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
    let reader = server.sign_up("reader@example.com").await;
    // Warm the pool: a new connection looks up the enum types' OIDs once.
    for _ in 0..3 {
        reader.gql(FEED_PAGE, json!({ "n": 50 })).await;
    }
    let mut counts = Vec::new();
    for n in [5, 50] {
        // The counter is the pool's: a background task (the outbox poll) may
        // add a statement during a page, never take one away, so the fewest
        // of three runs is the page's own count.
        let mut statements = u64::MAX;
        let mut body = Value::Null;
        for _ in 0..3 {
            let before = server.services.statements.get();
            body = reader.gql(FEED_PAGE, json!({ "n": n })).await;
            statements = statements.min(server.services.statements.get() - before);
        }
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
    // The session, the page with the viewer's likes, its authors (post and
    // reply authors together), its first replies.
    assert!(counts[1] <= 4, "a feed page took {} statements", counts[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_after_a_write_in_the_same_request_see_the_write() {
    let server = TestServer::start().await;
    let (alice, bob) = two_users(&server).await;
    let post = alice.post("Fresh", "PUBLISHED").await;
    let body = bob.gql("mutation($id: ID!) { a: unlikePost(postId: $id) { likedByMe likeCount } b: likePost(postId: $id) { likedByMe likeCount } }",
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authors_in_a_feed_show_their_whole_profile_when_asked() {
    let server = TestServer::start().await;
    let (alice, bob) = two_users(&server).await;
    let profile = alice
        .gql(
            "mutation { updateProfile(input: { bio: \"Writes Rust\", currentSkills: [\"Rust\", \"SQL\"],
                targetSkills: [\"Go\"], currentGoals: [\"Ship it\"] }) { id } }",
            json!({}),
        )
        .await;
    assert!(profile["errors"].is_null(), "{profile}");
    let post = alice.post("Profiles", "PUBLISHED").await;
    let reply = alice
        .gql(
            "mutation($p: ID!) { createReply(postId: $p, content: \"Own reply\") { id } }",
            json!({ "p": post }),
        )
        .await;
    assert!(reply["errors"].is_null(), "{reply}");

    // Post authors with their profile, reply authors without: two shapes of
    // one user in one page, each answered in full.
    let page = bob
        .gql(
            "{ feed(first: 5) { edges { node { author { name bio currentSkills targetSkills currentGoals }
                replies(first: 3) { edges { node { author { name image } } } } } } } }",
            json!({}),
        )
        .await;
    let node = &page["data"]["feed"]["edges"][0]["node"];
    assert_eq!(
        node["author"],
        json!({ "name": "Ada", "bio": "Writes Rust", "currentSkills": ["Rust", "SQL"],
                "targetSkills": ["Go"], "currentGoals": ["Ship it"] }),
        "{page}"
    );
    assert_eq!(
        node["replies"]["edges"][0]["node"]["author"]["name"], "Ada",
        "{page}"
    );

    // The same through a fragment, which the look-ahead must see through.
    let page = bob
        .gql(
            "{ feed(first: 5) { edges { node { author { ...Who } } } } }
             fragment Who on User { name currentSkills }",
            json!({}),
        )
        .await;
    assert_eq!(
        page["data"]["feed"]["edges"][0]["node"]["author"]["currentSkills"],
        json!(["Rust", "SQL"]),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_says_which_posts_the_viewer_likes() {
    let server = TestServer::start().await;
    let (alice, bob) = two_users(&server).await;
    let mut posts = Vec::new();
    for title in ["One", "Two", "Three"] {
        posts.push(alice.post(title, "PUBLISHED").await);
    }
    let liked = bob
        .gql(
            "mutation($id: ID!) { likePost(postId: $id) { likedByMe } }",
            json!({ "id": posts[1] }),
        )
        .await;
    assert_eq!(liked["data"]["likePost"]["likedByMe"], true, "{liked}");

    let liked_in_feed = |body: Value| -> Vec<(String, bool)> {
        body["data"]["feed"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|edge| {
                let node = &edge["node"];
                (
                    node["title"].as_str().unwrap().to_string(),
                    node["likedByMe"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let query = "{ feed(first: 10) { edges { node { title likedByMe } } } }";
    let expected = |two: bool| {
        vec![
            ("Three".to_string(), false),
            ("Two".to_string(), two),
            ("One".to_string(), false),
        ]
    };
    assert_eq!(
        liked_in_feed(bob.gql(query, json!({})).await),
        expected(true)
    );
    assert_eq!(
        liked_in_feed(alice.gql(query, json!({})).await),
        expected(false)
    );
    assert_eq!(
        liked_in_feed(server.gql(query, json!({})).await),
        expected(false)
    );
    // The author's page answers the same through the loaders.
    let page = bob
        .gql(
            "query($id: ID!) { user(id: $id) { posts(first: 10) { edges { node { title likedByMe } } } } }",
            json!({ "id": alice.id().await }),
        )
        .await;
    let on_page: Vec<bool> = page["data"]["user"]["posts"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{page}"))
        .iter()
        .map(|edge| edge["node"]["likedByMe"].as_bool().unwrap())
        .collect();
    assert_eq!(on_page, vec![false, true, false]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_with_nothing_to_change_answer_the_unchanged_object() {
    let server = TestServer::start().await;
    let alice = server.sign_up("alice@example.com").await;

    // Every update mutation of the schema is covered below.
    let schema = alice
        .gql(
            "{ __schema { mutationType { fields { name } } } }",
            json!({}),
        )
        .await;
    let updates: HashSet<&str> = schema["data"]["__schema"]["mutationType"]["fields"]
        .as_array()
        .expect("mutations")
        .iter()
        .filter_map(|field| field["name"].as_str())
        .filter(|name| name.starts_with("update"))
        .collect();
    // updateReply's only input, `content`, is required: it always changes something.
    assert_eq!(
        updates,
        HashSet::from(["updateGoal", "updatePost", "updateProfile", "updateReply"])
    );

    let goal_fields = "id title period status startDate deadline completedAt createdAt updatedAt";
    let create =
        format!("mutation($i: CreateGoalInput!) {{ createGoal(input: $i) {{ {goal_fields} }} }}");
    let body = alice
        .gql(&create, json!({ "i": { "title": "Ship", "period": "WEEKLY", "deadline": "2030-01-07T00:00:00Z" } }))
        .await;
    let goal = body["data"]["createGoal"].clone();
    let update = format!(
        "mutation($id: ID!, $i: UpdateGoalInput!) {{ updateGoal(id: $id, input: $i) {{ {goal_fields} }} }}"
    );
    for input in [
        json!({}),
        json!({ "title": null, "period": null, "status": null }),
        json!({ "title": null, "period": null, "startDate": null, "deadline": null, "status": null }),
    ] {
        let body = alice
            .gql(&update, json!({ "id": goal["id"], "i": input }))
            .await;
        assert_eq!(body["data"]["updateGoal"], goal, "{input}: {body}");
    }

    let post_fields = "id title content status createdAt updatedAt";
    let id = alice.post("Unchanged", "PUBLISHED").await;
    let update = format!(
        "mutation($id: ID!, $i: UpdatePostInput!) {{ updatePost(id: $id, input: $i) {{ {post_fields} }} }}"
    );
    let before = alice
        .gql(
            &format!("query($id: ID!) {{ post(id: $id) {{ {post_fields} }} }}"),
            json!({ "id": id }),
        )
        .await["data"]["post"]
        .clone();
    for input in [
        json!({}),
        json!({ "title": null, "content": null, "status": null }),
    ] {
        let body = alice.gql(&update, json!({ "id": id, "i": input })).await;
        assert_eq!(body["data"]["updatePost"], before, "{input}: {body}");
    }

    // In a profile edit, null clears a field: only `{}` leaves it all alone.
    let profile_fields = "id name image currentRole experienceLevel industry yearsOfExperience \
                          currentSkills targetSkills bio currentGoals";
    let me = alice
        .gql(&format!("{{ me {{ {profile_fields} }} }}"), json!({}))
        .await["data"]["me"]
        .clone();
    let update = format!(
        "mutation($i: ProfileInput!) {{ updateProfile(input: $i) {{ {profile_fields} }} }}"
    );
    let body = alice.gql(&update, json!({ "i": {} })).await;
    assert_eq!(body["data"]["updateProfile"], me, "{body}");
    let all_null = json!({ "i": {
        "name": null, "image": null, "currentRole": null, "experienceLevel": null,
        "industry": null, "yearsOfExperience": null, "currentSkills": null,
        "targetSkills": null, "bio": null, "currentGoals": null } });
    let body = alice.gql(&update, all_null).await;
    assert_eq!(
        (error_code(&body), field(&body)),
        (Some("BAD_USER_INPUT"), "experienceLevel"),
        "{body}"
    );
}

/// Shapes of feed page a client may ask for, each answered by writing its
/// JSON from the rows (graphql::direct) when plain.
const PAGE_SHAPES: [&str; 8] = [
    "edges { node { id title author { id name } likeCount likedByMe replyCount replies(first: 3) { edges { node { id content author { id name } } } } } }",
    "__typename pageInfo { __typename hasPreviousPage hasNextPage startCursor endCursor } edges { __typename cursor node { __typename id title content status createdAt updatedAt author { __typename id name image } } }",
    "nodes { id a: title b: likeCount c: replyCount mine: likedByMe } pageInfo { hasNextPage endCursor }",
    "edges { node { replies(first: $r) { __typename pageInfo { hasPreviousPage hasNextPage startCursor endCursor } edges { cursor node { __typename id content createdAt updatedAt author { image name } } } } } }",
    "edges { node { replies(first: 1) { nodes { id } pageInfo { hasNextPage } } } }",
    "edges { node { replies { edges { node { id } } } } }",
    "edges { node { author { id name email } } }",
    "edges { node { replies(first: 2) { edges { node { post { id } } } } } }",
];

async fn raw_feed(
    server: &TestServer,
    token: Option<&str>,
    query: &str,
    after: Option<&str>,
) -> String {
    let mut request = reqwest::Client::new()
        .post(server.url("/graphql"))
        .json(&json!({ "query": query, "variables": { "after": after } }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the server answers");
    assert_eq!(response.status(), 200);
    response.text().await.expect("a body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_written_feed_page_is_byte_for_byte_the_resolved_one() {
    let server = TestServer::start().await;
    let client = server.db.client().await;
    factories::social_graph(&client, 7, 3, 2).await;
    // Text that needs escaping, and a user without a name or image.
    client
        .batch_execute(
            "INSERT INTO users (email) VALUES ('nameless@example.com');
             INSERT INTO posts (author_id, title, content, status)
             SELECT id, E'Quotes \" and \\\\ and\nnew lines, tabs\t, é, 🌱, <script>', E'\\u0001', 'PUBLISHED'
             FROM users WHERE email = 'nameless@example.com';
             INSERT INTO replies (author_id, post_id, content)
             SELECT u.id, p.id, E'a reply \"quoted\"' FROM users u, posts p WHERE u.email = 'nameless@example.com'",
        )
        .await
        .expect("insert the odd rows");
    let reader = server.sign_up("reader@example.com").await;
    let after = reader
        .gql("{ feed(first: 2) { pageInfo { endCursor } } }", json!({}))
        .await["data"]["feed"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("a cursor")
        .to_owned();
    for shape in PAGE_SHAPES {
        let variables = if shape.contains("$r") {
            "$after: String, $r: Int = 2"
        } else {
            "$after: String"
        };
        let written =
            format!("query({variables}) {{ feed(first: 5, after: $after) {{ {shape} }} }}");
        // The same selection in an inline fragment is resolved field by field.
        let resolved = format!(
            "query({variables}) {{ feed(first: 5, after: $after) {{ ... on PostConnection {{ {shape} }} }} }}"
        );
        for token in [Some(reader.token.as_str()), None] {
            for page in [None, Some(after.as_str())] {
                let one = raw_feed(&server, token, &written, page).await;
                let other = raw_feed(&server, token, &resolved, page).await;
                assert!(one.starts_with("{\"data\":{\"feed\":{"), "{shape}: {one}");
                assert_eq!(
                    one,
                    other,
                    "{shape} (signed in: {}, after: {page:?})",
                    token.is_some()
                );
            }
        }
    }
    // A root key selected twice is merged, as async-graphql merges it.
    let twice = reader
        .gql(
            "{ feed(first: 2) { edges { node { id } } } feed(first: 2) { pageInfo { hasNextPage } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        twice["data"]["feed"]["edges"].as_array().map(Vec::len),
        Some(2),
        "{twice}"
    );
    assert_eq!(
        twice["data"]["feed"]["pageInfo"]["hasNextPage"], true,
        "{twice}"
    );
    // Batches and GET requests are written the same way.
    let batch: Value = reqwest::Client::new()
        .post(server.url("/graphql"))
        .bearer_auth(&reader.token)
        .json(&json!([
            { "query": "{ feed(first: 1) { edges { node { title } } } }" },
            { "query": "{ feed(first: 1) { nodes { title } } }" }
        ]))
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        batch[0]["data"]["feed"]["edges"][0]["node"]["title"],
        batch[1]["data"]["feed"]["nodes"][0]["title"],
        "{batch}"
    );
    assert!(
        batch[0]["data"]["feed"]["edges"][0]["node"]["title"].is_string(),
        "{batch}"
    );
    let got: Value =
        reqwest::get(server.url("/graphql?query=%7Bfeed(first%3A1)%7Bnodes%7Bid%7D%7D%7D"))
            .await
            .expect("the server answers")
            .json()
            .await
            .expect("JSON");
    assert!(got["data"]["feed"]["nodes"][0]["id"].is_string(), "{got}");
}
