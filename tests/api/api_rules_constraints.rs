//! The API's input rules as CHECK constraints (migrations 2026-12-06-100001
//! and -100002): no write path stores what the API refuses, a value the API
//! accepts always fits, and rows stored before the rules are kept aside, cut
//! to fit, and put back by the rollback.

use growth_diary::db::enums::PostStatus;
use growth_diary::db::models::post::{self, NewPost};
use growth_diary::error::AppError;
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use crate::harness::{TestDb, factories};

const CHECKS_UP: &str = include_str!("../../migrations/2026-12-06-100001_api_rules_checks/up.sql");
const CHECKS_DOWN: &str =
    include_str!("../../migrations/2026-12-06-100001_api_rules_checks/down.sql");
const VALIDATE_UP: &str =
    include_str!("../../migrations/2026-12-06-100002_api_rules_validate/up.sql");
const VALIDATE_DOWN: &str =
    include_str!("../../migrations/2026-12-06-100002_api_rules_validate/down.sql");

/// The constraints of the API's input rules and whether each is validated,
/// by name (not the key table's own length check).
async fn rules(client: &Client) -> Vec<(String, bool)> {
    client
        .query(
            "SELECT conname::text, convalidated FROM pg_constraint
             WHERE contype = 'c' AND conname ~ '_(length|http|size)$'
               AND conname NOT LIKE '%sha256%'
               AND conrelid <> 'server_keys'::regclass
             ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

/// Runs `sql` and returns the name of the CHECK constraint it broke.
async fn broken(client: &Client, sql: &str) -> String {
    let err = client
        .batch_execute(sql)
        .await
        .expect_err(&format!("refused: {sql}"));
    let db = err.as_db_error().expect("a database error");
    assert_eq!(db.code(), &SqlState::CHECK_VIOLATION, "{sql}: {db}");
    db.constraint().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_write_of_what_the_api_refuses_fails() {
    let db = TestDb::new().await;
    let client = db.client().await;
    assert!(
        rules(&client).await.iter().all(|(_, valid)| *valid),
        "{:?}",
        rules(&client).await
    );
    assert_eq!(rules(&client).await.len(), 13);
    client
        .batch_execute(
            "INSERT INTO users (email) VALUES ('rules@example.com');
             INSERT INTO posts (author_id, title, content) SELECT id, 't', 'c' FROM users;
             INSERT INTO goals (user_id, title, period, deadline) SELECT id, 'g', 'DAILY', now() FROM users;
             INSERT INTO replies (author_id, post_id, content) SELECT author_id, id, 'r' FROM posts;
             INSERT INTO stories (user_id, period, content) SELECT id, '2026-11', 's' FROM users;",
        )
        .await
        .unwrap();
    for (sql, constraint) in [
        (
            "UPDATE users SET name = repeat('n', 101)",
            "users_name_length",
        ),
        (
            "UPDATE users SET image = 'javascript:alert(document.cookie)'",
            "users_image_http",
        ),
        (
            "UPDATE users SET image = 'https://example.com/' || repeat('i', 2048)",
            "users_image_http",
        ),
        (
            "UPDATE users SET \"current_role\" = repeat('r', 101)",
            "users_current_role_length",
        ),
        (
            "UPDATE users SET industry = repeat('i', 101)",
            "users_industry_length",
        ),
        (
            "UPDATE users SET bio = repeat('b', 2001)",
            "users_bio_length",
        ),
        (
            "UPDATE users SET current_skills = ARRAY(SELECT 's' || n FROM generate_series(1, 5000) n)",
            "users_current_skills_size",
        ),
        (
            "UPDATE users SET current_skills = ARRAY[repeat('s', 51)]",
            "users_current_skills_size",
        ),
        (
            "UPDATE users SET current_skills = ARRAY[NULL::text]",
            "users_current_skills_size",
        ),
        (
            "UPDATE users SET target_skills = ARRAY(SELECT 's' || n FROM generate_series(1, 51) n)",
            "users_target_skills_size",
        ),
        (
            "UPDATE users SET current_goals = ARRAY[repeat('g', 201)]",
            "users_current_goals_size",
        ),
        ("UPDATE goals SET title = ''", "goals_title_length"),
        (
            "UPDATE goals SET title = repeat('t', 201)",
            "goals_title_length",
        ),
        (
            "UPDATE posts SET title = repeat('t', 100 * 1024)",
            "posts_title_length",
        ),
        (
            "UPDATE posts SET content = repeat('c', 5 * 1024 * 1024)",
            "posts_content_length",
        ),
        ("UPDATE replies SET content = ''", "replies_content_length"),
        (
            "UPDATE replies SET content = repeat('r', 10001)",
            "replies_content_length",
        ),
        (
            "UPDATE stories SET content = repeat('s', 20001)",
            "stories_content_length",
        ),
    ] {
        assert_eq!(broken(&client, sql).await, constraint, "{sql}");
    }

    // What the API accepts fits: characters are counted, not bytes (é is two).
    client
        .batch_execute(
            "UPDATE users SET name = repeat('é', 100), bio = repeat('é', 2000),
                 image = 'HTTPS://example.com/' || repeat('é', 2028),
                 current_skills = ARRAY(SELECT repeat('é', 50) FROM generate_series(1, 50)),
                 current_goals = ARRAY(SELECT repeat('é', 200) FROM generate_series(1, 20));
             UPDATE posts SET title = repeat('é', 200), content = repeat('é', 50000);
             UPDATE goals SET title = repeat('é', 200);
             UPDATE replies SET content = repeat('é', 10000);
             UPDATE stories SET content = repeat('é', 20000);",
        )
        .await
        .expect("values at the API's limits fit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_violation_on_the_api_path_is_the_clients_error() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let user = factories::user(&mut conn, "oversized@example.com").await;
    let err = post::insert(
        &mut conn,
        &NewPost {
            id: uuid::Uuid::now_v7(),
            author_id: user.id,
            title: "Fine".into(),
            content: "c".repeat(50_001),
            status: PostStatus::Published,
        },
    )
    .await
    .expect_err("the constraint refuses it");
    match AppError::from(err) {
        AppError::BadUserInput { field, .. } => assert_eq!(field, "content"),
        other => panic!("expected BAD_USER_INPUT, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_stored_before_the_rules_are_kept_aside_cut_to_fit_and_put_back_by_the_rollback() {
    let db = TestDb::new().await;
    let client = db.client().await;
    // A deployment from before the rules, holding what an older import let in.
    client.batch_execute(VALIDATE_DOWN).await.unwrap();
    client.batch_execute(CHECKS_DOWN).await.unwrap();
    assert!(rules(&client).await.is_empty());
    client
        .batch_execute(
            "INSERT INTO users (email, name, image, current_skills, bio) VALUES
                 ('old@example.com', repeat('n', 200 * 1024), 'javascript:alert(document.cookie)',
                  ARRAY(SELECT 'skill ' || n FROM generate_series(1, 5000) n), 'Fine.');
             INSERT INTO posts (author_id, title, content)
                 SELECT id, repeat('t', 100 * 1024), repeat('c', 5 * 1024 * 1024) FROM users;
             INSERT INTO goals (user_id, title, period, deadline) SELECT id, '', 'DAILY', now() FROM users;
             INSERT INTO replies (author_id, post_id, content) SELECT author_id, id, '' FROM posts;",
        )
        .await
        .unwrap();
    let before = snapshot(&client).await;

    client.batch_execute(CHECKS_UP).await.unwrap();
    client
        .batch_execute(VALIDATE_UP)
        .await
        .expect("the upgrade goes through");
    assert!(rules(&client).await.iter().all(|(_, valid)| *valid));
    assert_eq!(
        snapshot(&client).await,
        vec![
            "users: name 100, image NULL, skills 50, bio 5".to_string(),
            "posts: title 200, content 50000".to_string(),
            "goals: (untitled)".to_string(),
            "replies: (empty)".to_string(),
        ]
    );
    let kept: Vec<String> = client
        .query(
            "SELECT q.table_name || '.' || q.column_name || ' '
                    || coalesce(char_length(q.original), cardinality(q.original_list))
                    || CASE WHEN q.user_id = u.id THEN ' of old' ELSE '' END
             FROM quarantined_values q, users u ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        kept,
        [
            "goals.title 0 of old",
            "posts.content 5242880 of old",
            "posts.title 102400 of old",
            "replies.content 0 of old",
            "users.current_skills 5000 of old",
            "users.image 33 of old",
            "users.name 204800 of old",
        ]
    );

    // The rollback puts every original back, and the rules back to NOT VALID.
    client.batch_execute(VALIDATE_DOWN).await.unwrap();
    assert_eq!(snapshot(&client).await, before);
    let rules_after = rules(&client).await;
    assert_eq!(rules_after.len(), 13);
    assert!(
        rules_after.iter().all(|(_, valid)| !valid),
        "{rules_after:?}"
    );
    client.batch_execute(VALIDATE_UP).await.unwrap();
    assert!(rules(&client).await.iter().all(|(_, valid)| *valid));
}

/// The sizes of the values the rules care about, one line per table.
async fn snapshot(client: &Client) -> Vec<String> {
    client
        .query(
            "SELECT 'users: name ' || char_length(name) || ', image ' || coalesce(image, 'NULL')
                    || ', skills ' || cardinality(current_skills) || ', bio ' || char_length(bio)
             FROM users
             UNION ALL SELECT 'posts: title ' || char_length(title) || ', content ' || char_length(content) FROM posts
             UNION ALL SELECT 'goals: ' || title FROM goals
             UNION ALL SELECT 'replies: ' || content FROM replies",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}
