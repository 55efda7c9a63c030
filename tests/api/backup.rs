//! `growth-diary backup` and `restore`: a round trip through pg_dump's format.

use serde_json::json;

use crate::harness::server::sign_up;
use crate::harness::{TestDb, TestServer};

/// Runs the binary's `args` against `db`, as an operator would.
fn run(db: &TestDb, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_growth-diary"))
        .args(args)
        .env("DATABASE_URL", db.connection_string())
        .env_remove("DATABASE_DIRECT_URL")
        .env_remove("DATABASE_POOLER")
        .env_remove("RUST_LOG")
        .output()
        .expect("run the binary")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_restored_into_an_empty_database_signs_in_and_reads_the_same_data() {
    let source = TestServer::start().await;
    let token = sign_up(&source, "kept@example.com", "correct horse battery").await;
    let created = source
        .gql_as(
            Some(&token),
            r#"mutation { createPost(input: {title: "Kept", content: "Through the backup", status: PUBLISHED}) { id } }"#,
            json!({}),
        )
        .await;
    let post = created["data"]["createPost"]["id"]
        .as_str()
        .expect("a post id")
        .to_string();

    let file = std::env::temp_dir().join(format!("gd-backup-{}.dump", uuid::Uuid::now_v7()));
    let file_arg = file.display().to_string();
    let backup = run(&source.db, &["backup", "--to", &file_arg]);
    assert!(
        backup.status.success(),
        "backup failed: {}",
        String::from_utf8_lossy(&backup.stderr)
    );
    assert!(std::fs::metadata(&file).expect("the backup file").len() > 0);

    let target = TestDb::empty().await;
    let restore = run(&target, &["restore", "--from", &file_arg]);
    assert!(
        restore.status.success(),
        "restore failed: {}",
        String::from_utf8_lossy(&restore.stderr)
    );
    // A second restore into the same (no longer empty) database is refused.
    let again = run(&target, &["restore", "--from", &file_arg]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already has tables"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let _ = std::fs::remove_file(&file);

    let restored = TestServer::start_with(target, |_| {}).await;
    let signed_in = restored
        .gql(
            r#"mutation { signIn(email: "kept@example.com", password: "correct horse battery") { token user { email } } }"#,
            json!({}),
        )
        .await;
    let token = signed_in["data"]["signIn"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{signed_in}"));
    let read = restored
        .gql_as(
            Some(token),
            "query($id: ID!) { post(id: $id) { title content } }",
            json!({ "id": post }),
        )
        .await;
    assert_eq!(read["data"]["post"]["title"], "Kept", "{read}");
    assert_eq!(
        read["data"]["post"]["content"], "Through the backup",
        "{read}"
    );
}
