//! Moving in from the Next.js app: a database built as `prisma migrate` builds
//! it (tests/fixtures/prisma_app.sql), filled with the old app's rows
//! (passwords hashed by bcrypt at cost 10 by bcryptjs and Python's bcrypt),
//! imported with `import-prisma`, then used through the API.

use growth_diary::auth::secretbox::SecretBox;
use growth_diary::config::EncryptionKey;
use growth_diary::import::source::SourceUrl;
use growth_diary::import::{self, ImportArgs, Report};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::server::{error_code, me};
use crate::harness::{TestDb, TestServer};

/// The old app's schema, as its migration.sql has it.
const PRISMA_SCHEMA: &str = include_str!("../fixtures/prisma_app.sql");

/// The old app's rows. Passwords: ada `ada-old-password` ($2b$, Python's
/// bcrypt), bob `bob-old-password` ($2a$, bcryptjs 2.4.3 as Next.js apps use
/// it), cy `cy-old-password` ($2y$), dup `dup-old-password`; dee signs in
/// with GitHub only; eve's argon2 hash is set by [`old_app`]. Tokens are at
/// least as long as NextAuth's UUIDs (shorter ones are refused). Broken on
/// purpose: dup's email is bob's in other case, a goal ends before it starts,
/// a verification token names nobody, and (once its foreign key is gone) a
/// reply answers a post that does not exist.
const OLD_APP_ROWS: &str = r#"
INSERT INTO "User" ("id", "email", "name", "password", "verified", "emailVerified", "currentRole",
                    "experienceLevel", "industry", "yearsOfExperience", "currentSkills", "targetSkills",
                    "bio", "currentGoals", "achievementScore", "dailyGenerationCount", "createdAt", "updatedAt")
VALUES
 ('cuada00000000000000000000', 'ada@example.com', 'Ada', '$2b$10$6G.RI9KJo/1n5ST7Jb7MROrtT5R6lS7jU58lUZ6T5YwDCdukO5XM.',
  true, '2024-01-02 10:05:00', 'Engineer', 'SENIOR', 'Fintech', 7, '{Rust,SQL}', '{Leadership}', 'Writes things down.',
  '{Ship the diary}', 42, 1, '2024-01-02 10:00:00', '2024-02-01 08:00:00'),
 ('cubob00000000000000000000', 'Bob@Example.com', 'Bob', '$2a$10$LUwTtyC4I.ZoDlqVUNSNa.cL8PTLDdV.Q4fvi/qLgP17dCOkglEvC',
  true, '2024-01-03 10:05:00', NULL, 'JUNIOR', NULL, 1, '{}', '{}', NULL, '{}', 7, 0, '2024-01-03 10:00:00', '2024-01-03 10:00:00'),
 ('cucy000000000000000000000', 'cy@example.com', 'Cy', '$2y$10$R40oyBRIX0S061l.ovHyNuZuZbf5GVXQOeunX2/6r0e.wNkqxs4i2',
  false, NULL, NULL, 'MID_LEVEL', NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, '2024-01-04 10:00:00', '2024-01-04 10:00:00'),
 ('cudup00000000000000000000', 'BOB@example.com', 'Bob again', '$2b$10$58FM9uWgnhRYV7kDzsHlqeiiGpDjZ74kftz7hEet54qETbPlnESUC',
  false, NULL, NULL, 'MID_LEVEL', NULL, NULL, '{}', '{}', NULL, '{}', 0, 0, '2024-01-05 10:00:00', '2024-01-05 10:00:00'),
 ('cudee00000000000000000000', 'dee@example.com', 'Dee', NULL,
  true, '2024-01-06 10:00:00', NULL, 'LEAD', NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, '2024-01-06 10:00:00', '2024-01-06 10:00:00'),
 ('cueve00000000000000000000', 'eve@example.com', 'Eve', NULL,
  true, '2024-01-07 10:00:00', NULL, 'VP', NULL, NULL, '{}', '{}', NULL, '{}', 0, 0, '2024-01-07 10:00:00', '2024-01-07 10:00:00');

INSERT INTO "Goal" ("id", "userId", "title", "period", "status", "startDate", "deadline", "completedAt", "createdAt", "updatedAt")
VALUES
 ('cgada10000000000000000000', 'cuada00000000000000000000', 'Read a chapter a day', 'WEEKLY', 'COMPLETED',
  '2024-01-08 00:00:00', '2024-01-14 00:00:00', '2024-01-13 18:00:00', '2024-01-08 09:00:00', '2024-01-13 18:00:00'),
 ('cgada20000000000000000000', 'cuada00000000000000000000', 'Give a talk', 'MONTHLY', 'ACTIVE',
  '2024-02-01 00:00:00', '2024-02-29 00:00:00', NULL, '2024-02-01 09:00:00', '2024-02-01 09:00:00'),
 ('cgcy100000000000000000000', 'cucy000000000000000000000', 'Learn Rust', 'YEARLY', 'COMPLETED',
  '2024-01-01 00:00:00', '2024-12-31 00:00:00', '2024-06-01 00:00:00', '2024-01-04 11:00:00', '2024-06-01 00:00:00'),
 ('cgbad00000000000000000000', 'cuada00000000000000000000', 'Ends before it starts', 'DAILY', 'ACTIVE',
  '2024-03-02 00:00:00', '2024-03-01 00:00:00', NULL, '2024-03-01 09:00:00', '2024-03-01 09:00:00');

INSERT INTO "Post" ("id", "title", "content", "status", "authorId", "createdAt", "updatedAt")
VALUES
 ('cpada10000000000000000000', 'Shipped the import', 'Moving in, one table at a time.', 'PUBLISHED',
  'cuada00000000000000000000', '2024-02-10 12:34:56.789', '2024-02-10 12:40:00'),
 ('cpada20000000000000000000', 'A draft', 'Not yet.', 'DRAFT',
  'cuada00000000000000000000', '2024-02-11 12:00:00', '2024-02-11 12:00:00'),
 ('cpbob10000000000000000000', 'First week', 'Learned a lot.', 'PUBLISHED',
  'cubob00000000000000000000', '2024-02-12 12:00:00', '2024-02-12 12:00:00'),
 ('cpdup10000000000000000000', 'From the duplicate', 'Whose is this?', 'PUBLISHED',
  'cudup00000000000000000000', '2024-02-13 12:00:00', '2024-02-13 12:00:00');

INSERT INTO "Like" ("id", "userId", "postId", "createdAt")
VALUES
 ('clbob10000000000000000000', 'cubob00000000000000000000', 'cpada10000000000000000000', '2024-02-10 13:00:00'),
 ('clcy100000000000000000000', 'cucy000000000000000000000', 'cpada10000000000000000000', '2024-02-10 13:01:00'),
 ('cldee10000000000000000000', 'cudee00000000000000000000', 'cpada10000000000000000000', '2024-02-10 13:02:00'),
 ('clada10000000000000000000', 'cuada00000000000000000000', 'cpbob10000000000000000000', '2024-02-12 13:00:00'),
 ('clcy200000000000000000000', 'cucy000000000000000000000', 'cpdup10000000000000000000', '2024-02-13 13:00:00');

INSERT INTO "Reply" ("id", "content", "authorId", "postId", "createdAt", "updatedAt")
VALUES
 ('crbob10000000000000000000', 'Congrats!', 'cubob00000000000000000000', 'cpada10000000000000000000', '2024-02-10 14:00:00', '2024-02-10 14:00:00'),
 ('crcy100000000000000000000', 'How long did it take?', 'cucy000000000000000000000', 'cpada10000000000000000000', '2024-02-10 14:01:00', '2024-02-10 14:01:00'),
 ('crada10000000000000000000', 'Nice week.', 'cuada00000000000000000000', 'cpbob10000000000000000000', '2024-02-12 14:00:00', '2024-02-12 14:00:00');

INSERT INTO "Story" ("id", "userId", "period", "content", "createdAt", "updatedAt")
VALUES ('csada10000000000000000000', 'cuada00000000000000000000', '2024-W06', 'A week of shipping.', '2024-02-11 20:00:00', '2024-02-11 20:00:00');

INSERT INTO "Account" ("id", "userId", "type", "provider", "providerAccountId", "refresh_token", "access_token",
                       "expires_at", "token_type", "scope", "id_token", "session_state")
VALUES
 ('cadee00000000000000000000', 'cudee00000000000000000000', 'oauth', 'github', '4242', NULL, 'gho_old_access_token',
  NULL, 'bearer', 'read:user,user:email', NULL, NULL),
 ('caada00000000000000000000', 'cuada00000000000000000000', 'oidc', 'google', '1099', 'old-refresh', 'ya29.old-access',
  1707570000, 'Bearer', 'openid email profile', 'eyJold.id.token', NULL);

INSERT INTO "Session" ("id", "sessionToken", "userId", "expires")
VALUES
 ('csada00000000000000000000', 'old-session-token-of-ada-as-long-as-a-uuid', 'cuada00000000000000000000', (now() AT TIME ZONE 'UTC') + interval '7 days'),
 ('csbob00000000000000000000', 'old-session-token-of-bob-as-long-as-a-uuid', 'cubob00000000000000000000', (now() AT TIME ZONE 'UTC') - interval '1 day');

INSERT INTO "VerificationToken" ("identifier", "token", "expires")
VALUES
 ('cy@example.com', 'old-verification-token-of-cy-as-long-as-a-uuid', (now() AT TIME ZONE 'UTC') + interval '1 day'),
 ('nobody@example.com', 'old-verification-token-of-nobody-as-long-as-a-uuid', (now() AT TIME ZONE 'UTC') + interval '1 day');

INSERT INTO "PasswordReset" ("id", "userId", "token", "expiresAt", "used", "createdAt")
VALUES
 ('cxbob00000000000000000000', 'cubob00000000000000000000', 'old-reset-token-of-bob-as-long-as-a-uuid', (now() AT TIME ZONE 'UTC') + interval '1 hour', false, now() AT TIME ZONE 'UTC'),
 ('cxada00000000000000000000', 'cuada00000000000000000000', 'old-reset-token-of-ada-as-long-as-a-uuid', (now() AT TIME ZONE 'UTC') + interval '1 hour', true, now() AT TIME ZONE 'UTC');

-- A reply whose post is gone: the old database lost the foreign key that would have stopped it.
ALTER TABLE "Reply" DROP CONSTRAINT "Reply_postId_fkey";
INSERT INTO "Reply" ("id", "content", "authorId", "postId", "createdAt", "updatedAt")
VALUES ('crorphan00000000000000000', 'Where did it go?', 'cucy000000000000000000000', 'cpgone0000000000000000000', '2024-02-14 14:00:00', '2024-02-14 14:00:00');
"#;

pub(crate) const ADA: &str = "cuada00000000000000000000";
pub(crate) const ADA_POST: &str = "cpada10000000000000000000";
const KEY: [u8; 32] = [42; 32];

/// Eve's password, hashed by the old app with argon2id weaker than today's.
const EVE_PASSWORD: &str = "eve-old-password";

/// A database shaped and filled like the old app's.
pub(crate) async fn old_app() -> TestDb {
    use argon2::{Argon2, Params, PasswordHasher};
    let db = TestDb::empty().await;
    let client = db.client().await;
    client
        .batch_execute(PRISMA_SCHEMA)
        .await
        .expect("the Prisma schema applies");
    client
        .batch_execute(OLD_APP_ROWS)
        .await
        .expect("the old app's rows insert");
    let weak = Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        Params::new(4096, 1, 1, None).expect("valid argon2 parameters"),
    )
    .hash_password(EVE_PASSWORD.as_bytes())
    .expect("argon2 hashes")
    .to_string();
    client
        .execute(
            r#"UPDATE "User" SET "password" = $1 WHERE "email" = 'eve@example.com'"#,
            &[&weak],
        )
        .await
        .expect("set eve's hash");
    db
}

fn args(target: &TestDb, source: &TestDb, dry_run: bool, key: bool) -> ImportArgs {
    ImportArgs {
        database: target.config(),
        from: SourceUrl {
            url: source.url.clone(),
            schema: "public".into(),
        },
        dry_run,
        encryption_key: key.then_some(EncryptionKey(KEY)),
    }
}

pub(crate) async fn import(server: &TestServer, source: &TestDb, key: bool) -> Report {
    import::run(&args(&server.db, source, false, key))
        .await
        .expect("the import runs")
}

/// Every index and constraint of the public schema, with its definition.
async fn catalog(db: &TestDb) -> Vec<String> {
    db.client()
        .await
        .query(
            "SELECT indexrelid::regclass::text || ': ' || pg_get_indexdef(indexrelid)
             FROM pg_index JOIN pg_class c ON c.oid = indrelid
             WHERE c.relnamespace = 'public'::regnamespace
             UNION ALL
             SELECT conrelid::regclass::text || '.' || conname || ': ' || pg_get_constraintdef(oid)
                    || CASE WHEN convalidated THEN '' ELSE ' (not validated)' END
             FROM pg_constraint WHERE connamespace = 'public'::regnamespace
             ORDER BY 1",
            &[],
        )
        .await
        .expect("the catalog is readable")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// (source, already, imported, skipped) of a model.
pub(crate) fn counts(report: &Report, model: &str) -> (u64, u64, u64, u64) {
    let table = report.table(model);
    (table.source, table.already, table.imported, table.skipped)
}

async fn sign_in(server: &TestServer, email: &str, password: &str) -> Value {
    server
        .gql(
            "mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token user { id } } }",
            json!({ "e": email, "p": password }),
        )
        .await
}

async fn stored_hash(db: &TestDb, email: &str) -> String {
    db.client()
        .await
        .query_one(
            "SELECT password_hash FROM users WHERE email = $1",
            &[&email],
        )
        .await
        .expect("the user exists")
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_moves_in_and_broken_rows_are_reported_and_skipped() {
    let source = old_app().await;
    let server = TestServer::start().await;
    let migrated = catalog(&server.db).await;
    let report = import(&server, &source, true).await;

    // Into empty tables, indexes and keys are built after the rows: every one
    // the migrations made is back, validated, and nothing else is.
    assert_eq!(catalog(&server.db).await, migrated);
    assert_eq!(counts(&report, "User"), (6, 0, 5, 1), "{report}");
    assert_eq!(counts(&report, "Goal"), (4, 0, 3, 1), "{report}");
    assert_eq!(counts(&report, "Post"), (4, 0, 3, 1), "{report}");
    assert_eq!(counts(&report, "Like"), (5, 0, 4, 1), "{report}");
    assert_eq!(counts(&report, "Reply"), (4, 0, 3, 1), "{report}");
    assert_eq!(counts(&report, "Story"), (1, 0, 1, 0), "{report}");
    assert_eq!(counts(&report, "Account"), (2, 0, 2, 0), "{report}");
    assert_eq!(counts(&report, "Session"), (2, 0, 2, 0), "{report}");
    assert_eq!(
        counts(&report, "VerificationToken"),
        (2, 0, 1, 1),
        "{report}"
    );
    assert_eq!(counts(&report, "PasswordReset"), (2, 0, 2, 0), "{report}");
    let printed = report.to_string();
    for line in [
        "skipped User cudup00000000000000000000: its email BOB@example.com is also the email of user cubob00000000000000000000 (emails are case-insensitive here)",
        "skipped Goal cgbad00000000000000000000: its deadline 2024-03-01 00:00:00+00 is before its start date 2024-03-02 00:00:00+00",
        "skipped Post cpdup10000000000000000000: its author cudup00000000000000000000 is skipped",
        "skipped Like clcy200000000000000000000: its post cpdup10000000000000000000 is skipped",
        "skipped Reply crorphan00000000000000000: its post cpgone0000000000000000000 does not exist in the source",
        "skipped VerificationToken nobody@example.com: its identifier nobody@example.com is neither the email nor the id of a user imported here",
    ] {
        assert!(printed.contains(line), "missing `{line}` in:\n{printed}");
    }
    assert_eq!(report.skipped.len(), 6, "{printed}");
    for (table, rows) in [
        ("users", 5),
        ("goals", 3),
        ("posts", 3),
        ("likes", 4),
        ("replies", 3),
        ("stories", 1),
        ("accounts", 2),
        ("sessions", 2),
        ("verification_tokens", 1),
        ("password_resets", 2),
    ] {
        assert_eq!(server.db.rows(table).await, rows, "{table}");
    }

    // Counters: every post's like and reply counts equal its rows.
    let client = server.db.client().await;
    let wrong: i64 = client
        .query_one(
            "SELECT count(*) FROM posts p
             WHERE like_count <> (SELECT count(*) FROM likes l WHERE l.post_id = p.id)
                OR reply_count <> (SELECT count(*) FROM replies r WHERE r.post_id = p.id AND r.deleted_at IS NULL)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(wrong, 0, "like and reply counts match the imported rows");

    // The old link of a post resolves, with its counts, author and time.
    let body = server
        .gql(
            "query($id: ID!) { post(id: $id) { id title likeCount replyCount createdAt author { id name } } }",
            json!({ "id": ADA_POST }),
        )
        .await;
    let post = &body["data"]["post"];
    assert_eq!(post["title"], "Shipped the import", "{body}");
    assert_eq!(post["likeCount"], 3);
    assert_eq!(post["replyCount"], 2);
    let created =
        chrono::DateTime::parse_from_rfc3339(post["createdAt"].as_str().unwrap()).unwrap();
    assert_eq!(
        created.timestamp_millis(),
        1_707_568_496_789,
        "timestamp(3) read as UTC"
    );
    assert_eq!(post["author"]["name"], "Ada");
    let post_id = Uuid::parse_str(post["id"].as_str().unwrap()).unwrap();
    assert_eq!(post_id.get_version_num(), 7, "new ids are UUID v7");
    let (seconds, nanos) = post_id.get_timestamp().unwrap().to_unix();
    assert_eq!(
        (seconds, nanos / 1_000_000),
        (1_707_568_496, 789),
        "the id carries createdAt"
    );
    let ada_id = post["author"]["id"].as_str().unwrap().to_string();
    let user = server
        .gql(
            "query($id: ID!) { user(id: $id) { id name achievementScore } }",
            json!({ "id": ADA }),
        )
        .await;
    assert_eq!(
        user["data"]["user"],
        json!({ "id": ada_id, "name": "Ada", "achievementScore": 42 }),
        "the old score is kept"
    );
    for (id, why) in [
        ("cpdup10000000000000000000", "a skipped post"),
        ("cpada20000000000000000000", "someone else's draft"),
        ("cpzzz00000000000000000000", "an old id never imported"),
    ] {
        let body = server
            .gql(
                "query($id: ID!) { post(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(body["data"]["post"], Value::Null, "{why}: {body}");
    }
    let malformed = server
        .gql("{ post(id: \"not an id\") { id } }", json!({}))
        .await;
    assert_eq!(error_code(&malformed), Some("BAD_USER_INPUT"));

    // The old session still signs ada in; the expired one of bob does not.
    assert_eq!(
        me(&server, "old-session-token-of-ada-as-long-as-a-uuid").await,
        Some(ada_id.clone())
    );
    assert_eq!(
        me(&server, "old-session-token-of-bob-as-long-as-a-uuid").await,
        None
    );

    // Provider tokens are stored encrypted with ENCRYPTION_KEY.
    let sealed: Option<String> = client
        .query_one(
            "SELECT access_token FROM accounts WHERE provider = 'github'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let sealed = sealed.expect("the access token is kept");
    assert!(!sealed.contains("gho_old_access_token"));
    assert_eq!(
        SecretBox::new(&EncryptionKey(KEY)).open(&sealed).as_deref(),
        Some("gho_old_access_token")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_passwords_sign_in_once_and_become_argon2id() {
    let source = old_app().await;
    let server = TestServer::start().await;
    import(&server, &source, false).await;

    for (email, password, scheme) in [
        ("ada@example.com", "ada-old-password", "$2b$"),
        ("bob@example.com", "bob-old-password", "$2a$"),
        ("cy@example.com", "cy-old-password", "$2y$"),
    ] {
        assert!(stored_hash(&server.db, email).await.starts_with(scheme));
        let wrong = sign_in(&server, email, "not-the-password").await;
        assert_eq!(error_code(&wrong), Some("UNAUTHENTICATED"), "{wrong}");
        assert!(
            stored_hash(&server.db, email).await.starts_with(scheme),
            "a wrong password changes nothing"
        );
        let right = sign_in(&server, email, password).await;
        assert!(
            right["data"]["signIn"]["token"].is_string(),
            "{email}: {right}"
        );
        assert!(
            stored_hash(&server.db, email)
                .await
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{email}'s hash is upgraded"
        );
        let again = sign_in(&server, email, password).await;
        assert!(again["data"]["signIn"]["token"].is_string(), "{again}");
    }

    // Argon2 weaker than today's is upgraded by the same path.
    assert!(
        stored_hash(&server.db, "eve@example.com")
            .await
            .contains("m=4096,t=1")
    );
    let eve = sign_in(&server, "eve@example.com", EVE_PASSWORD).await;
    assert!(eve["data"]["signIn"]["token"].is_string(), "{eve}");
    assert!(
        stored_hash(&server.db, "eve@example.com")
            .await
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_reset_and_verification_links_keep_working() {
    let source = old_app().await;
    let server = TestServer::start().await;
    import(&server, &source, false).await;

    let reset = server
        .gql(
            "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) { token } }",
            json!({ "t": "old-reset-token-of-bob-as-long-as-a-uuid", "p": "a brand new password" }),
        )
        .await;
    assert!(
        reset["data"]["resetPassword"]["token"].is_string(),
        "{reset}"
    );
    let signed_in = sign_in(&server, "bob@example.com", "a brand new password").await;
    assert!(
        signed_in["data"]["signIn"]["token"].is_string(),
        "{signed_in}"
    );
    let used = server
        .gql(
            "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) { token } }",
            json!({ "t": "old-reset-token-of-ada-as-long-as-a-uuid", "p": "a brand new password" }),
        )
        .await;
    assert_eq!(
        error_code(&used),
        Some("BAD_USER_INPUT"),
        "a used link stays used"
    );

    let verified = server
        .gql(
            "mutation($t: String!) { verifyEmail(token: $t) { verified } }",
            json!({ "t": "old-verification-token-of-cy-as-long-as-a-uuid" }),
        )
        .await;
    assert_eq!(
        verified["data"]["verifyEmail"]["verified"], true,
        "{verified}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_imports_only_what_is_new() {
    let source = old_app().await;
    let server = TestServer::start().await;
    let first = import(&server, &source, true).await;
    let tables = [
        "users",
        "goals",
        "posts",
        "likes",
        "replies",
        "stories",
        "accounts",
        "sessions",
        "verification_tokens",
        "password_resets",
        "legacy_ids",
    ];
    let mut before = Vec::new();
    for table in tables {
        before.push(server.db.rows(table).await);
    }

    let second = import(&server, &source, true).await;
    for table in &first.tables {
        assert_eq!(
            counts(&second, table.model),
            (table.source, table.imported, 0, table.skipped),
            "{}: {second}",
            table.model
        );
    }
    let mut after = Vec::new();
    for table in tables {
        after.push(server.db.rows(table).await);
    }
    assert_eq!(before, after, "nothing is doubled");

    // What the old app gained since, and only that, comes over on the next run;
    // what was deleted here does not come back.
    let old = source.client().await;
    old.batch_execute(
        r#"INSERT INTO "Post" ("id", "title", "content", "status", "authorId", "createdAt", "updatedAt")
           VALUES ('cpnew00000000000000000000', 'Still writing', 'Since the import.', 'PUBLISHED',
                   'cubob00000000000000000000', '2024-03-01 12:00:00', '2024-03-01 12:00:00');
           INSERT INTO "Like" ("id", "userId", "postId", "createdAt")
           VALUES ('clnew00000000000000000000', 'cuada00000000000000000000', 'cpnew00000000000000000000', '2024-03-01 13:00:00');"#,
    )
    .await
    .unwrap();
    server
        .db
        .client()
        .await
        .execute(
            "DELETE FROM likes WHERE id = (SELECT id FROM legacy_ids WHERE model = 'Like' AND legacy_id = 'clbob10000000000000000000')",
            &[],
        )
        .await
        .unwrap();
    let third = import(&server, &source, true).await;
    assert_eq!(counts(&third, "Post"), (5, 3, 1, 1), "{third}");
    assert_eq!(counts(&third, "Like"), (6, 4, 1, 1), "{third}");
    assert_eq!(counts(&third, "User"), (6, 5, 0, 1), "{third}");
    let body = server
        .gql(
            "{ a: post(id: \"cpnew00000000000000000000\") { likeCount author { name } } b: post(id: \"cpada10000000000000000000\") { likeCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"],
        json!({ "a": { "likeCount": 1, "author": { "name": "Bob" } }, "b": { "likeCount": 2 } }),
        "the new post and like came, the like deleted here did not come back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_reports_and_writes_nothing() {
    let source = old_app().await;
    let server = TestServer::start().await;
    let report = import::run(&args(&server.db, &source, true, false))
        .await
        .expect("the dry run runs");
    assert_eq!(counts(&report, "Like"), (5, 0, 4, 1));
    assert_eq!(report.skipped.len(), 6);
    let printed = report.to_string();
    assert!(printed.contains("would import"), "{printed}");
    assert!(printed.ends_with("nothing was written"), "{printed}");
    for table in ["users", "posts", "likes", "legacy_ids"] {
        assert_eq!(server.db.rows(table).await, 0, "{table}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_key_provider_tokens_are_dropped_with_a_warning() {
    let source = old_app().await;
    let server = TestServer::start().await;
    let report = import(&server, &source, false).await;
    assert!(
        report
            .warnings
            .iter()
            .any(|warning| warning.contains("provider tokens of 2 accounts were not imported")),
        "{report}"
    );
    let tokens: i64 = server
        .db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM accounts WHERE access_token IS NOT NULL OR refresh_token IS NOT NULL OR id_token IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tokens, 0);
    assert_eq!(
        server.db.rows("accounts").await,
        2,
        "the accounts themselves come"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scores_follow_this_servers_rule_when_the_source_has_none() {
    let source = old_app().await;
    source
        .client()
        .await
        .batch_execute(r#"ALTER TABLE "User" DROP COLUMN "achievementScore""#)
        .await
        .unwrap();
    let server = TestServer::start().await;
    import(&server, &source, false).await;
    let body = server
        .gql(
            "{ ada: user(id: \"cuada00000000000000000000\") { achievementScore }
               cy: user(id: \"cucy000000000000000000000\") { achievementScore }
               bob: user(id: \"cubob00000000000000000000\") { achievementScore } }",
            json!({}),
        )
        .await;
    // ada: one completed weekly goal (5); cy: one completed yearly goal (100).
    assert_eq!(
        body["data"],
        json!({ "ada": { "achievementScore": 5 }, "cy": { "achievementScore": 100 }, "bob": { "achievementScore": 0 } }),
        "{body}"
    );
}

/// The source's URL as Prisma writes it, with `?schema=`.
fn with_schema(db: &TestDb, schema: &str) -> String {
    let mut url = url::Url::parse(&db.connection_string()).expect("TEST_DATABASE_URL is a URL");
    url.query_pairs_mut().append_pair("schema", schema);
    url.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_prints_counts_and_time() {
    let source = old_app().await;
    let target = TestDb::empty().await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_growth-diary"))
        .args(["import-prisma", "--dry-run", "--from"])
        .arg(with_schema(&source, "public"))
        .env("DATABASE_URL", target.connection_string())
        .env_remove("ENCRYPTION_KEY")
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("skipped Reply crorphan00000000000000000"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Like                        5          0            4          1"),
        "{stdout}"
    );
    assert!(stdout.contains("dry run in "), "{stdout}");

    let wrong = std::process::Command::new(env!("CARGO_BIN_EXE_growth-diary"))
        .args(["import-prisma", "--from"])
        .arg(with_schema(&source, "elsewhere"))
        .env("DATABASE_URL", target.connection_string())
        .output()
        .expect("the binary runs");
    assert!(!wrong.status.success());
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("the schema elsewhere has no table \"User\""),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_never_overwrites_a_hash_that_changed_meanwhile() {
    use growth_diary::db::models::user;
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let user = crate::harness::factories::user(&mut conn, "race@example.com").await;
    user::set_password(&mut conn, user.id, "$2b$10$verified-one")
        .await
        .unwrap();
    // A reset replaced the hash between the check and the upgrade.
    user::set_password(&mut conn, user.id, "$argon2id$reset-one")
        .await
        .unwrap();
    let replaced = user::replace_password_hash(
        &mut conn,
        user.id,
        "$2b$10$verified-one",
        "$argon2id$upgrade",
    )
    .await
    .unwrap();
    assert!(!replaced);
    assert_eq!(
        stored_hash(&db, "race@example.com").await,
        "$argon2id$reset-one"
    );
    let replaced = user::replace_password_hash(
        &mut conn,
        user.id,
        "$argon2id$reset-one",
        "$argon2id$upgrade",
    )
    .await
    .unwrap();
    assert!(replaced);
}
