//! Background work: the expiry cleanup deletes exactly what no request can
//! use any more, in every table it sweeps.

use crate::harness::{TestServer, factories};

/// One expired (or spent) and one live row in each swept table, labelled by
/// a text column (or, for tables without one, a 32-byte digest of the label).
const ROWS: &str = "
    INSERT INTO sessions (user_id, session_token_sha256, expires) VALUES
        ($USER, sha256('session-expired'), now() - interval '1 second'),
        ($USER, sha256('session-live'), now() + interval '1 day');
    INSERT INTO verification_tokens (identifier, token_sha256, expires) VALUES
        ('token-expired', sha256('token-expired'), now() - interval '1 second'),
        ('token-live', sha256('token-live'), now() + interval '1 day');
    INSERT INTO password_resets (user_id, token_sha256, expires_at, used) VALUES
        ($USER, sha256('reset-expired'), now() - interval '1 second', false),
        ($USER, sha256('reset-used'), now() + interval '1 hour', true),
        ($USER, sha256('reset-live'), now() + interval '1 hour', false);
    INSERT INTO rate_limit_buckets (key, window_start, count) VALUES
        ('bucket-stale', now() - interval '30 days', 1),
        ('bucket-live', now(), 1);
    INSERT INTO oauth_states (state_sha256, provider, pkce_verifier, nonce, redirect_to, expires_at) VALUES
        (sha256('state-expired'), 'state-expired', 'v', 'n', '/', now() - interval '1 second'),
        (sha256('state-live'), 'state-live', 'v', 'n', '/', now() + interval '10 minutes');
    INSERT INTO email_outbox (recipient, subject, text_body, html_body, expires_at) VALUES
        ('x@example.com', 'email-expired', 't', 'h', now() - interval '1 second'),
        ('x@example.com', 'email-live', 't', 'h', now() + interval '1 day');
";

/// The labels of the rows still there, sorted.
const SURVIVORS: &str = "
    SELECT label FROM (
        SELECT l.label FROM sessions s, (VALUES ('session-expired'), ('session-live')) l(label)
            WHERE s.session_token_sha256 = sha256(convert_to(l.label, 'UTF8'))
        UNION ALL SELECT identifier FROM verification_tokens
        UNION ALL SELECT l.label FROM password_resets r, (VALUES ('reset-expired'), ('reset-used'), ('reset-live')) l(label)
            WHERE r.token_sha256 = sha256(convert_to(l.label, 'UTF8'))
        UNION ALL SELECT key FROM rate_limit_buckets
        UNION ALL SELECT provider FROM oauth_states
        UNION ALL SELECT subject FROM email_outbox
    ) rows ORDER BY label
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cleanup_sweeps_expired_rows_and_keeps_live_ones() {
    let server = TestServer::start().await;
    let mut conn = server.db.conn().await;
    let user = factories::user(&mut conn, "sweep@example.com").await;
    let client = server.db.client().await;
    client
        .batch_execute(&ROWS.replace("$USER", &format!("'{}'", user.id)))
        .await
        .expect("insert expired and live rows");

    growth_diary::background::cleanup::sweep(&server.services.pool)
        .await
        .expect("the sweep runs");

    let survivors: Vec<String> = client
        .query(SURVIVORS, &[])
        .await
        .expect("read what is left")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        survivors,
        [
            "bucket-live",
            "email-live",
            "reset-live",
            "session-live",
            "state-live",
            "token-live"
        ],
        "expired, spent and stale rows go; live ones stay"
    );
}
