//! Fuzzing: schemathesis (PyPI, pinned in `.ci/tools/fuzz-requirements.txt`)
//! reads the real server's schema by introspection and sends generated
//! queries and mutations, valid and invalid, to every root field for a small
//! time budget. Each request is signed in as a user of its own (see
//! `.ci/tools/fuzz_hooks.py`), or as the owner of the goal, post or reply it
//! names, so authenticated paths and owners' updates are reached too; half
//! of the documents have every nullable input explicitly `null` or left out.
//! A 5xx or an INTERNAL_SERVER_ERROR anywhere fails the test; its output
//! lists each failing request with a curl line that reproduces it.
//!
//! `FUZZ_SECONDS` (default 100) sets the budget, `FUZZ_EXAMPLES` the cases
//! per operation instead (then without a time budget unless `FUZZ_SECONDS`
//! is set too), `FUZZ_SEED` replays a run (schemathesis prints the seed it
//! used).

use std::path::{Path, PathBuf};
use std::process::Command;

use growth_diary::auth::{password, tokens};
use serde_json::json;

use crate::harness::{TestServer, factories, tools};

/// Users with a session each; every fuzzed request takes the next one.
const FUZZ_USERS: usize = 1_000;
/// The password of every fuzz user (so `signIn` and friends can succeed).
const FUZZ_PASSWORD: &str = "fuzz-password-1";
/// Fuzz users that own a goal, a published post and a reply each.
const FUZZ_OWNERS: i64 = 50;
/// The CI budget, in seconds: about 1,300 cases (some 25 per operation, and
/// the stateful phase) in a debug build on 2 cores.
const FUZZ_SECONDS: &str = "100";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzing_every_operation_finds_no_internal_error() {
    let schemathesis = tools::ci_dir().join(".venv-fuzz/bin/schemathesis");
    tools::require(&schemathesis, "schemathesis");
    let server = TestServer::start().await;
    let client = server.db.client().await;
    // Published posts with replies and likes, so ids from the dictionaries
    // below reach the resolvers' real work instead of NOT_FOUND.
    factories::social_graph(&client, 20, 2, 2).await;
    let session_tokens = fuzz_users(&client).await;

    let work = WorkDir::new();
    let tokens_file = work.path().join("tokens");
    std::fs::write(&tokens_file, session_tokens.join("\n")).expect("write the tokens");
    let owned = owned_rows(&client).await;
    let owners_file = work.path().join("owners");
    let owners: Vec<String> = owned
        .iter()
        .map(|row| format!("{} {}", row.id, session_tokens[row.owner - 1]))
        .collect();
    std::fs::write(&owners_file, owners.join("\n")).expect("write the owners");
    let config = work.path().join("schemathesis.toml");
    let of_kind = |kind: &str| -> Vec<String> {
        owned
            .iter()
            .filter(|row| row.kind == kind)
            .map(|row| row.id.clone())
            .collect()
    };
    let dictionaries = Dictionaries {
        post_ids: [
            ids(
                &client,
                "SELECT id FROM posts WHERE title NOT LIKE 'Fuzz %' ORDER BY id",
            )
            .await,
            of_kind("post"),
        ]
        .concat(),
        reply_ids: [
            ids(
                &client,
                "SELECT id FROM replies WHERE content <> 'Fuzz reply' ORDER BY id LIMIT 20",
            )
            .await,
            of_kind("reply"),
        ]
        .concat(),
        goal_ids: of_kind("goal"),
        user_ids: ids(&client, "SELECT id FROM users ORDER BY id LIMIT 20").await,
    };
    let base = std::fs::read_to_string(tools::ci_dir().join("tools/schemathesis.toml"))
        .expect("read .ci/tools/schemathesis.toml");
    std::fs::write(&config, format!("{base}\n{}", dictionaries.toml())).expect("write the config");

    let examples = std::env::var("FUZZ_EXAMPLES").ok();
    let seconds = std::env::var("FUZZ_SECONDS")
        .ok()
        .or_else(|| examples.is_none().then(|| FUZZ_SECONDS.to_owned()));
    let mut fuzz = Command::new(&schemathesis);
    fuzz.current_dir(work.path())
        .env("SCHEMATHESIS_HOOKS", "fuzz_hooks")
        .env("PYTHONPATH", tools::ci_dir().join("tools"))
        .env("FUZZ_TOKENS_FILE", &tokens_file)
        .env("FUZZ_OWNERS_FILE", &owners_file)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(server.url("/graphql"));
    if let Some(seconds) = &seconds {
        fuzz.args(["--max-time", seconds]);
    }
    if let Some(examples) = &examples {
        fuzz.args(["--max-examples", examples]);
    }
    fuzz.args([
        "--workers",
        "2",
        "--no-color",
        "--generation-database",
        "none",
    ])
    // A request that takes this long is a stall, and fails the run.
    .args(["--request-timeout", "20"]);
    if let Ok(seed) = std::env::var("FUZZ_SEED") {
        fuzz.args(["--seed", &seed]);
    }
    let output = tools::run(fuzz).await;
    let transcript = tools::transcript(&output);
    assert!(
        output.status.success(),
        "the fuzzer failed (its failures list each request as a curl line):\n{transcript}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (selected, tested) = coverage(&stdout);
    assert!(
        selected.is_some_and(|(selected, of)| selected == of && of > 0)
            && tested == selected.map(|s| s.0),
        "the fuzzer did not test every query and mutation:\n{transcript}"
    );
    println!("{stdout}");
    // The server is still up and answers.
    let body = server.gql("{ __typename }", json!({})).await;
    assert_eq!(body["data"]["__typename"], "Query");
}

/// Inserts [`FUZZ_USERS`] users with one password and a session each, and
/// returns the sessions' tokens. One argon2 hash is shared: hashing each
/// password would cost seconds apiece in a debug build.
async fn fuzz_users(client: &tokio_postgres::Client) -> Vec<String> {
    let hash = password::hash(FUZZ_PASSWORD)
        .await
        .expect("hash the fuzz password");
    let (tokens, digests): (Vec<String>, Vec<Vec<u8>>) = (0..FUZZ_USERS)
        .map(|_| {
            let (token, digest) = tokens::generate();
            (token, digest.to_vec())
        })
        .unzip();
    let inserted = client
        .execute(
            "WITH new_sessions AS (
                 SELECT n, digest FROM unnest($2::bytea[]) WITH ORDINALITY AS t(digest, n)
             ), new_users AS (
                 INSERT INTO users (email, name, password_hash, verified, email_verified)
                 SELECT 'fuzz' || n || '@example.com', 'Fuzz ' || n, $1,
                        n % 2 = 0, CASE WHEN n % 2 = 0 THEN now() END
                 FROM new_sessions
                 RETURNING id, email
             )
             INSERT INTO sessions (user_id, session_token_sha256, expires)
             SELECT u.id, s.digest, now() + interval '1 day'
             FROM new_sessions s JOIN new_users u ON u.email = 'fuzz' || s.n || '@example.com'",
            &[&hash, &digests],
        )
        .await
        .expect("insert the fuzz users");
    assert_eq!(inserted, FUZZ_USERS as u64);
    tokens
}

/// A row owned by a fuzz user: its kind (`goal`, `post`, `reply`), id, and
/// owner (n of `fuzz<n>@example.com`, the n-th token).
struct OwnedRow {
    kind: String,
    id: String,
    owner: usize,
}

/// Gives each of the first [`FUZZ_OWNERS`] fuzz users a goal, a published
/// post and a reply on it. The hooks sign a request that names one of them in
/// as its owner, so updates and deletes get past their ownership checks to
/// the work behind them (an empty `updateGoal` failed there, unfound).
async fn owned_rows(client: &tokio_postgres::Client) -> Vec<OwnedRow> {
    let rows = client
        .query(
            "WITH owners AS (
                 SELECT u.id AS user_id, n FROM generate_series(1, $1::bigint) n
                 JOIN users u ON u.email = 'fuzz' || n || '@example.com'
             ), new_goals AS (
                 INSERT INTO goals (user_id, title, period, deadline)
                 SELECT user_id, 'Fuzz goal ' || n, 'WEEKLY', now() + interval '30 days' FROM owners
                 RETURNING id, user_id
             ), new_posts AS (
                 INSERT INTO posts (author_id, title, content, status)
                 SELECT user_id, 'Fuzz post ' || n, 'Fuzzed', 'PUBLISHED' FROM owners
                 RETURNING id, author_id
             ), new_replies AS (
                 INSERT INTO replies (author_id, post_id, content)
                 SELECT author_id, id, 'Fuzz reply' FROM new_posts
                 RETURNING id, author_id
             )
             SELECT 'goal', g.id, o.n FROM new_goals g JOIN owners o ON o.user_id = g.user_id
             UNION ALL
             SELECT 'post', p.id, o.n FROM new_posts p JOIN owners o ON o.user_id = p.author_id
             UNION ALL
             SELECT 'reply', r.id, o.n FROM new_replies r JOIN owners o ON o.user_id = r.author_id",
            &[&FUZZ_OWNERS],
        )
        .await
        .expect("insert the owned rows");
    assert_eq!(rows.len() as i64, 3 * FUZZ_OWNERS);
    rows.iter()
        .map(|row| OwnedRow {
            kind: row.get(0),
            id: row.get::<_, uuid::Uuid>(1).to_string(),
            owner: usize::try_from(row.get::<_, i64>(2)).expect("a positive n"),
        })
        .collect()
}

/// From schemathesis's summary: ("Selected: S/N", "Tested: T") as (Some((S, N)), Some(T)).
fn coverage(stdout: &str) -> (Option<(usize, usize)>, Option<usize>) {
    let field = |name: &str| {
        stdout.lines().find_map(|line| {
            line.trim()
                .strip_prefix(name)
                .map(str::trim)
                .map(str::to_owned)
        })
    };
    let selected = field("Selected:").and_then(|value| {
        let (selected, of) = value.split_once('/')?;
        Some((selected.parse().ok()?, of.parse().ok()?))
    });
    let tested = field("Tested:").and_then(|value| value.parse().ok());
    (selected, tested)
}

async fn ids(client: &tokio_postgres::Client, sql: &str) -> Vec<String> {
    client
        .query(sql, &[])
        .await
        .expect("read ids")
        .iter()
        .map(|row| row.get::<_, uuid::Uuid>(0).to_string())
        .collect()
}

/// Real values schemathesis puts into arguments half of the time (its "fuzz
/// dictionaries"); the other half stays random.
struct Dictionaries {
    post_ids: Vec<String>,
    reply_ids: Vec<String>,
    goal_ids: Vec<String>,
    user_ids: Vec<String>,
}

impl Dictionaries {
    fn toml(&self) -> String {
        let emails: Vec<String> = (1..=20).map(|n| format!("fuzz{n}@example.com")).collect();
        let dictionaries = [
            ("post_ids", &self.post_ids),
            ("reply_ids", &self.reply_ids),
            ("goal_ids", &self.goal_ids),
            ("user_ids", &self.user_ids),
            ("emails", &emails),
            ("passwords", &vec![FUZZ_PASSWORD.to_string()]),
        ];
        let bindings = [
            ("Query.post.id", "post_ids"),
            ("Query.user.id", "user_ids"),
            ("Mutation.updatePost.id", "post_ids"),
            ("Mutation.deletePost.id", "post_ids"),
            ("Mutation.likePost.postId", "post_ids"),
            ("Mutation.unlikePost.postId", "post_ids"),
            ("Mutation.createReply.postId", "post_ids"),
            ("Mutation.updateReply.id", "reply_ids"),
            ("Mutation.deleteReply.id", "reply_ids"),
            ("Mutation.updateGoal.id", "goal_ids"),
            ("Mutation.deleteGoal.id", "goal_ids"),
            ("Mutation.signIn.email", "emails"),
            ("Mutation.requestPasswordReset.email", "emails"),
            ("Mutation.signIn.password", "passwords"),
            ("Mutation.changePassword.currentPassword", "passwords"),
            ("Mutation.deleteAccount.password", "passwords"),
        ];
        let mut toml = String::new();
        for (name, values) in dictionaries {
            let values: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
            toml.push_str(&format!(
                "[dictionaries.{name}]\nvalues = [{}]\n\n",
                values.join(", ")
            ));
        }
        toml.push_str("[parameters]\n");
        for (key, dictionary) in bindings {
            toml.push_str(&format!(
                "\"{key}\" = {{ dictionary = \"{dictionary}\", probability = 0.5 }}\n"
            ));
        }
        toml
    }
}

/// A scratch directory for the fuzzer's files (its reports, our config),
/// removed when the test ends.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default();
        let path =
            std::env::temp_dir().join(format!("growth-diary-fuzz-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("create the fuzz work dir");
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
