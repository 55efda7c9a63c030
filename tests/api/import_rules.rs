//! The import holds the old app's rows to the API's own rules: a row the API
//! would refuse is reported with its reason and never written, the rows that
//! hang on it go with it, and what the API would clean is written cleaned.

use serde_json::json;

use crate::harness::TestServer;
use crate::harness::server::me;
use crate::import::{ADA, ADA_POST, counts, import, old_app};

const BOB: &str = "cubob00000000000000000000";
const CY: &str = "cucy000000000000000000000";

/// A value the old app's enum gained that this server's never had. Alone: a
/// new enum value cannot be used in the transaction that adds it.
const NEW_ENUM_VALUE: &str = r#"ALTER TYPE "ExperienceLevel" ADD VALUE 'PRINCIPAL'"#;

/// Rows the old app let in, each breaking one of the API's rules, with rows
/// that hang on them, and rows the API would take after cleaning.
const HOSTILE_ROWS: &str = r#"
INSERT INTO "User" ("id", "email", "name", "image", "experienceLevel", "currentSkills", "updatedAt")
VALUES
 ('cuhugename000000000000000', 'huge-name@example.com', repeat('n', 200 * 1024), NULL, 'MID_LEVEL', '{}', now()),
 ('cumanyskills0000000000000', 'many-skills@example.com', 'Many', NULL, 'MID_LEVEL',
  ARRAY(SELECT 'skill ' || n FROM generate_series(1, 5000) n), now()),
 ('cuscript00000000000000000', 'script@example.com', 'Script', 'javascript:alert(document.cookie)', 'MID_LEVEL', '{}', now()),
 ('cuprincipal00000000000000', 'principal@example.com', 'Principal', NULL, 'PRINCIPAL', '{}', now()),
 ('cutidy0000000000000000000', 'tidy@example.com', '  Tidy  ', 'https://example.com/tidy.png', 'SENIOR', '{Rust," Rust ",SQL}', now());

INSERT INTO "Post" ("id", "title", "content", "status", "authorId", "createdAt", "updatedAt")
VALUES
 ('cphugecontent000000000000', 'Huge', repeat('c', 5 * 1024 * 1024), 'PUBLISHED', 'cuada00000000000000000000', now(), now()),
 ('cphugetitle00000000000000', repeat('t', 100 * 1024), 'Fine.', 'PUBLISHED', 'cuada00000000000000000000', now(), now()),
 ('cppadded00000000000000000', '  Padded title  ', 'Fine.', 'PUBLISHED', 'cuada00000000000000000000', now(), now()),
 ('cpscript00000000000000000', 'By the script user', 'Fine.', 'PUBLISHED', 'cuscript00000000000000000', now(), now());

INSERT INTO "Like" ("id", "userId", "postId") VALUES ('clhuge0000000000000000000', 'cubob00000000000000000000', 'cphugecontent000000000000');

INSERT INTO "Reply" ("id", "content", "authorId", "postId", "updatedAt")
VALUES
 ('crhuge0000000000000000000', 'Wow.', 'cubob00000000000000000000', 'cphugecontent000000000000', now()),
 ('crblank000000000000000000', '   ', 'cubob00000000000000000000', 'cpada10000000000000000000', now());

INSERT INTO "Goal" ("id", "userId", "title", "period", "startDate", "deadline", "updatedAt")
VALUES ('cghugetitle00000000000000', 'cuada00000000000000000000', repeat('g', 300), 'WEEKLY', now(), now() + interval '7 days', now());

INSERT INTO "Story" ("id", "userId", "period", "content", "updatedAt")
VALUES
 ('csbadperiod00000000000000', 'cubob00000000000000000000', 'week 6', 'A week.', now()),
 ('cshuge0000000000000000000', 'cucy000000000000000000000', '2024-02', repeat('s', 20001), now());

INSERT INTO "Session" ("id", "sessionToken", "userId", "expires")
VALUES
 ('cstiny0000000000000000000', 'a', 'cuada00000000000000000000', (now() AT TIME ZONE 'UTC') + interval '7 days'),
 ('csscript00000000000000000', 'session-token-of-the-script-user-long-enough', 'cuscript00000000000000000', (now() AT TIME ZONE 'UTC') + interval '7 days');

INSERT INTO "VerificationToken" ("identifier", "token", "expires")
VALUES ('bob@example.com', 'short-token', (now() AT TIME ZONE 'UTC') + interval '1 day');

INSERT INTO "PasswordReset" ("id", "userId", "token", "expiresAt")
VALUES ('cxtiny0000000000000000000', 'cubob00000000000000000000', 'tiny', (now() AT TIME ZONE 'UTC') + interval '1 hour');
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_the_api_would_refuse_are_reported_and_never_written() {
    let source = old_app().await;
    let old = source.client().await;
    old.batch_execute(NEW_ENUM_VALUE).await.unwrap();
    old.batch_execute(HOSTILE_ROWS)
        .await
        .expect("the old app's hostile rows insert");
    // A NUL cannot reach the import: PostgreSQL's text refuses it at the source.
    let nul = old
        .execute(
            r#"UPDATE "User" SET "name" = $1 WHERE "id" = 'cutidy0000000000000000000'"#,
            &[&"Ti\0dy"],
        )
        .await;
    assert!(nul.is_err(), "the source cannot hold a NUL");

    let server = TestServer::start().await;
    let report = import(&server, &source, false).await;
    let printed = report.to_string();
    let skipped = [
        "User cuhugename000000000000000: its name must be at most 100 characters",
        "User cumanyskills0000000000000: its currentSkills must have at most 50 entries",
        "User cuscript00000000000000000: its image must be an http(s) URL",
        "User cuprincipal00000000000000: its experience level PRINCIPAL is not one of this server's",
        "Post cphugecontent000000000000: its content must be at most 50000 characters",
        "Post cphugetitle00000000000000: its title must be at most 200 characters",
        "Post cpscript00000000000000000: its author cuscript00000000000000000 is skipped",
        "Like clhuge0000000000000000000: its post cphugecontent000000000000 is skipped",
        "Reply crhuge0000000000000000000: its post cphugecontent000000000000 is skipped",
        "Reply crblank000000000000000000: its content must not be empty",
        "Goal cghugetitle00000000000000: its title must be at most 200 characters",
        "Story csbadperiod00000000000000: its period must be a day (2026-11-22), ISO week (2026-W47)",
        "Story cshuge0000000000000000000: its content is longer than 20000 characters, the longest story kept here",
        "Session cstiny0000000000000000000: its token is 1 characters long; tokens here are at least 32",
        "Session csscript00000000000000000: its user cuscript00000000000000000 is skipped",
        "VerificationToken bob@example.com: its token is 11 characters long; tokens here are at least 32",
        "PasswordReset cxtiny0000000000000000000: its token is 4 characters long; tokens here are at least 32",
    ];
    for line in skipped {
        assert!(
            printed.contains(&format!("skipped {line}")),
            "missing `{line}` in:\n{printed}"
        );
    }
    // The old app's own six broken rows (tests/api/import.rs) and these.
    assert_eq!(report.skipped.len(), 6 + skipped.len(), "{printed}");
    assert_eq!(counts(&report, "User"), (11, 0, 6, 5), "{printed}");
    assert_eq!(counts(&report, "Post"), (8, 0, 4, 4), "{printed}");
    assert_eq!(counts(&report, "Session"), (4, 0, 2, 2), "{printed}");

    // None of them is here.
    let client = server.db.client().await;
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM users WHERE email IN ('huge-name@example.com',
                        'many-skills@example.com', 'script@example.com', 'principal@example.com')),
                    (SELECT max(char_length(content)) FROM posts),
                    (SELECT max(char_length(title)) FROM posts),
                    (SELECT max(char_length(title)) FROM goals),
                    (SELECT count(*) FROM replies WHERE btrim(content) = ''),
                    (SELECT max(char_length(content)) FROM stories),
                    (SELECT count(*) FROM users WHERE image !~* '^https?://'),
                    (SELECT count(*) FROM sessions WHERE session_token_sha256 = sha256('a')),
                    (SELECT count(*) FROM verification_tokens WHERE token_sha256 = sha256('short-token')),
                    (SELECT count(*) FROM password_resets WHERE token_sha256 = sha256('tiny'))",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 0, "no refused user");
    assert!(
        row.get::<_, i32>(1) <= 50_000,
        "no post over 50,000 characters"
    );
    assert!(row.get::<_, i32>(2) <= 200, "no title over 200 characters");
    assert!(
        row.get::<_, i32>(3) <= 200,
        "no goal title over 200 characters"
    );
    assert_eq!(row.get::<_, i64>(4), 0, "no blank reply");
    assert!(
        row.get::<_, i32>(5) <= 20_000,
        "no story over 20,000 characters"
    );
    for (index, what) in [
        (6, "image that is not http(s)"),
        (7, "session token \"a\""),
        (8, "short verification token"),
        (9, "short reset token"),
    ] {
        assert_eq!(row.get::<_, i64>(index), 0, "{what}");
    }

    // `Authorization: Bearer a` signs nobody in; ada's real old session does.
    assert_eq!(me(&server, "a").await, None);
    assert_eq!(
        me(&server, "session-token-of-the-script-user-long-enough").await,
        None
    );
    assert!(
        me(&server, "old-session-token-of-ada-as-long-as-a-uuid")
            .await
            .is_some()
    );

    // The valid rows came, written as the API would have written them.
    let body = server
        .gql(
            "{ tidy: user(id: \"cutidy0000000000000000000\") { name image currentSkills experienceLevel }
               script: user(id: \"cuscript00000000000000000\") { id }
               padded: post(id: \"cppadded00000000000000000\") { title }
               huge: post(id: \"cphugecontent000000000000\") { id }
               ada: post(id: $ada) { likeCount replyCount } }"
                .replace("$ada", &format!("{ADA_POST:?}"))
                .as_str(),
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"],
        json!({
            "tidy": {
                "name": "Tidy",
                "image": "https://example.com/tidy.png",
                "currentSkills": ["Rust", "SQL"],
                "experienceLevel": "SENIOR"
            },
            "script": null,
            "padded": { "title": "Padded title" },
            "huge": null,
            "ada": { "likeCount": 3, "replyCount": 2 }
        }),
        "{body}"
    );
    for user in [ADA, BOB, CY] {
        let found = server
            .gql(
                "query($id: ID!) { user(id: $id) { id } }",
                json!({ "id": user }),
            )
            .await;
        assert!(found["data"]["user"]["id"].is_string(), "{user}: {found}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_token_signs_nobody_in_whatever_the_table_holds() {
    let server = TestServer::start().await;
    let mut conn = server.db.conn().await;
    let user = crate::harness::factories::user(&mut conn, "short@example.com").await;
    let client = server.db.client().await;
    // As an older import wrote it: the SHA-256 of a one-letter token.
    client
        .execute(
            "INSERT INTO sessions (user_id, session_token_sha256, expires)
             VALUES ($1, sha256('a'), now() + interval '7 days'),
                    ($1, sha256(convert_to(repeat('x', 32), 'UTF8')), now() + interval '7 days')",
            &[&user.id],
        )
        .await
        .unwrap();
    assert_eq!(me(&server, "a").await, None);
    assert_eq!(
        me(&server, &"x".repeat(32)).await,
        Some(user.id.to_string()),
        "a token of the shortest accepted length still works"
    );
}
