//! The `email_outbox` table: email waiting to be sent, leased by one worker at a time.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Interval};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::email_outbox;

/// An email to send.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = email_outbox)]
pub struct NewEmail {
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    /// After this the email is pointless (its link expired) and is dropped unsent.
    pub expires_at: DateTime<Utc>,
}

/// A leased email.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = email_outbox, check_for_backend(diesel::pg::Pg))]
pub struct OutboxEmail {
    pub id: Uuid,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub attempts: i32,
}

/// Queues an email (call inside the transaction that creates what it announces).
pub async fn enqueue(conn: &mut AsyncPgConnection, email: &NewEmail) -> QueryResult<()> {
    diesel::insert_into(email_outbox::table)
        .values(email)
        .execute(conn)
        .await
        .map(drop)
}

/// Leases up to `limit` due emails for `lease`: they are invisible to other
/// workers until the lease ends, so a worker that dies mid-send loses nothing.
/// `SKIP LOCKED` lets several instances claim different rows at once.
pub async fn lease_due(
    conn: &mut AsyncPgConnection,
    limit: i32,
    lease: std::time::Duration,
) -> QueryResult<Vec<OutboxEmail>> {
    let lease = diesel::pg::data_types::PgInterval::from_microseconds(
        i64::try_from(lease.as_micros()).unwrap_or(i64::MAX),
    );
    diesel::sql_query(
        "UPDATE email_outbox o SET next_attempt_at = now() + $2, attempts = o.attempts + 1
         FROM (SELECT id FROM email_outbox
               WHERE next_attempt_at <= now() AND expires_at > now()
               ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) due
         WHERE o.id = due.id
         RETURNING o.id, o.recipient, o.subject, o.text_body, o.html_body, o.attempts",
    )
    .bind::<Integer, _>(limit)
    .bind::<Interval, _>(lease)
    .load(conn)
    .await
}

/// Removes a sent email.
pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::delete(email_outbox::table.find(id))
        .execute(conn)
        .await
        .map(drop)
}

/// Records a failed attempt and when to try again.
pub async fn retry_at(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    error: &str,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(email_outbox::table.find(id))
        .set((
            email_outbox::last_error.eq(error),
            email_outbox::next_attempt_at.eq(at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Drops emails whose links expired before they could be sent; returns how many.
pub async fn delete_expired(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::delete(email_outbox::table.filter(email_outbox::expires_at.le(diesel::dsl::now)))
        .execute(conn)
        .await
}

/// How much email waits to be sent.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct Backlog {
    /// Emails in the outbox.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub depth: i64,
    /// Age of the oldest of them, in seconds (0 when there is none).
    #[diesel(sql_type = diesel::sql_types::Double)]
    pub oldest_age_secs: f64,
}

/// The outbox's depth and the age of its oldest email, in one statement.
pub async fn backlog(conn: &mut AsyncPgConnection) -> QueryResult<Backlog> {
    diesel::sql_query(
        "SELECT count(*) AS depth,
                COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS oldest_age_secs
         FROM email_outbox",
    )
    .get_result(conn)
    .await
}
