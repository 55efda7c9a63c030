//! The `rate_limit_buckets` table: fixed-window counters shared by every instance.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Interval, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::rate_limit_buckets;

/// A bucket's state after a change.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct Bucket {
    #[diesel(sql_type = Integer)]
    pub count: i32,
    #[diesel(sql_type = Timestamptz)]
    pub window_start: DateTime<Utc>,
}

/// Counts one event in `key`'s current window (opening a new window when the
/// old one is over) in one atomic statement, and returns the bucket.
pub async fn hit(
    conn: &mut AsyncPgConnection,
    key: &str,
    window: std::time::Duration,
) -> QueryResult<Bucket> {
    let window = interval(window);
    diesel::sql_query(
        "INSERT INTO rate_limit_buckets AS b (key, window_start, count) VALUES ($1, now(), 1)
         ON CONFLICT (key) DO UPDATE SET
             count = CASE WHEN b.window_start <= now() - $2 THEN 1 ELSE b.count + 1 END,
             window_start = CASE WHEN b.window_start <= now() - $2 THEN now() ELSE b.window_start END
         RETURNING count, window_start",
    )
    .bind::<Text, _>(key)
    .bind::<Interval, _>(window)
    .get_result(conn)
    .await
}

/// Takes back one event of `key`, in one statement: a bucket at one is
/// removed (an attempt taken back counts for nothing, and buckets hold at
/// least one), a larger one goes down by one.
pub async fn release(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<()> {
    diesel::sql_query(
        "WITH emptied AS (DELETE FROM rate_limit_buckets WHERE key = $1 AND count = 1)
         UPDATE rate_limit_buckets SET count = count - 1 WHERE key = $1 AND count > 1",
    )
    .bind::<Text, _>(key)
    .execute(conn)
    .await
    .map(drop)
}

/// Forgets `key` (e.g. failed sign-ins after a successful one).
pub async fn clear(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<()> {
    diesel::delete(rate_limit_buckets::table.find(key))
        .execute(conn)
        .await
        .map(drop)
}

/// Removes buckets whose window ended more than `longest_window` ago.
pub async fn delete_stale(
    conn: &mut AsyncPgConnection,
    longest_window: std::time::Duration,
) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM rate_limit_buckets WHERE window_start <= now() - $1")
        .bind::<Interval, _>(interval(longest_window))
        .execute(conn)
        .await
}

fn interval(window: std::time::Duration) -> diesel::pg::data_types::PgInterval {
    diesel::pg::data_types::PgInterval::from_microseconds(
        i64::try_from(window.as_micros()).unwrap_or(i64::MAX),
    )
}
