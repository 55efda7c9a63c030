//! One scrape: the recorder's families, and the values read at scrape time
//! (the pool's status and statements, the email outbox, the build).

use std::fmt::Write;
use std::time::Duration;

use crate::db::DbPool;
use crate::db::models::outbox;
use crate::db::pool::StatementCounter;

/// The longest a scrape waits for the outbox query; past it (or while the
/// database is down) the outbox families are left out and the rest answers.
pub const OUTBOX_QUERY_LIMIT: Duration = Duration::from_secs(1);

/// The content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders every family in the Prometheus text format.
pub async fn render(pool: &DbPool, statements: &StatementCounter) -> String {
    let mut text = match super::recorder::handle() {
        Some(handle) => {
            // Folds pending histogram samples and publishes new HELP lines.
            handle.run_upkeep();
            handle.render()
        }
        None => String::new(),
    };
    write_pool(&mut text, pool);
    // Read before this scrape's own outbox query.
    let _ = writeln!(
        text,
        "# HELP growth_diary_db_statements_total SQL statements run through the pool.\n\
         # TYPE growth_diary_db_statements_total counter\n\
         growth_diary_db_statements_total {}",
        statements.get()
    );
    write_outbox(&mut text, pool).await;
    write_build(&mut text);
    text
}

fn write_pool(text: &mut String, pool: &DbPool) {
    let status = pool.status();
    gauge(
        text,
        "growth_diary_db_pool_max_connections",
        "Largest number of connections the pool may hold (DATABASE_POOL_SIZE).",
        status.max_size as f64,
    );
    gauge(
        text,
        "growth_diary_db_pool_connections",
        "Connections the pool holds, in use or idle.",
        status.size as f64,
    );
    gauge(
        text,
        "growth_diary_db_pool_idle_connections",
        "Connections idle in the pool.",
        status.available as f64,
    );
    gauge(
        text,
        "growth_diary_db_pool_waiting",
        "Requests waiting for a pooled connection.",
        status.waiting as f64,
    );
}

async fn write_outbox(text: &mut String, pool: &DbPool) {
    let query = async {
        let mut conn = pool.get().await.map_err(|err| err.to_string())?;
        outbox::backlog(&mut conn)
            .await
            .map_err(|err| err.to_string())
    };
    match tokio::time::timeout(OUTBOX_QUERY_LIMIT, query).await {
        Ok(Ok(backlog)) => {
            gauge(
                text,
                "growth_diary_email_outbox_depth",
                "Emails waiting in the outbox.",
                backlog.depth as f64,
            );
            gauge(
                text,
                "growth_diary_email_outbox_oldest_age_seconds",
                "Age of the oldest email waiting in the outbox (0 when it is empty).",
                backlog.oldest_age_secs,
            );
        }
        Ok(Err(err)) => tracing::warn!(error = %err, "metrics: cannot read the email outbox"),
        Err(_) => tracing::warn!("metrics: the email outbox query took too long"),
    }
}

fn write_build(text: &mut String) {
    let _ = writeln!(
        text,
        "# HELP growth_diary_build_info The running build: package version and source revision (GROWTH_DIARY_REVISION at build time).\n\
         # TYPE growth_diary_build_info gauge\n\
         growth_diary_build_info{{version=\"{}\",revision=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION"),
        revision(),
    );
}

/// The source revision the build was made from, when the build said so.
fn revision() -> &'static str {
    match option_env!("GROWTH_DIARY_REVISION") {
        // Only characters that need no escaping in a label value.
        Some(rev)
            if !rev.is_empty()
                && rev.len() <= 64
                && rev
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_') =>
        {
            rev
        }
        _ => "unknown",
    }
}

/// One gauge family with a single sample.
fn gauge(text: &mut String, name: &str, help: &str, value: f64) {
    let _ = writeln!(
        text,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
    );
}
