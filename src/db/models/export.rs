//! Everything a user owns, as one JSON document built by PostgreSQL in one statement.

use diesel::QueryableByName;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[derive(QueryableByName)]
struct Document {
    #[diesel(sql_type = Text)]
    document: String,
}

/// The user's data: profile, goals, posts, replies, likes, stories, linked
/// accounts, sessions, security events, notifications and the originals of
/// values cut to fit the API's rules (`quarantined_values`), each row with all
/// its columns (snake_case, as in the tables) but secrets: no password hash,
/// token or token hash. Soft-deleted items are included, with `deleted_at`. Returned
/// as JSON text, so the server holds it once before parsing it for the response.
pub async fn document(conn: &mut AsyncPgConnection, user_id: Uuid) -> diesel::QueryResult<String> {
    diesel::sql_query(EXPORT)
        .bind::<SqlUuid, _>(user_id)
        .get_result::<Document>(conn)
        .await
        .map(|row| row.document)
}

/// Every row is exported whole (`to_jsonb`), so a new column is in the export
/// without anyone remembering it; only secrets are taken out, by name. A test
/// compares each section with the catalog.
const EXPORT: &str = r#"
SELECT jsonb_build_object(
  'exportedAt', now(),
  'profile', (SELECT to_jsonb(u) - 'password_hash'
      || jsonb_build_object('has_password', u.password_hash IS NOT NULL)
    FROM users u WHERE u.id = $1),
  'goals', (SELECT coalesce(jsonb_agg(to_jsonb(g) ORDER BY g.created_at, g.id), '[]')
    FROM goals g WHERE g.user_id = $1),
  'posts', (SELECT coalesce(jsonb_agg(to_jsonb(p) ORDER BY p.created_at, p.id), '[]')
    FROM posts p WHERE p.author_id = $1),
  'replies', (SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY r.created_at, r.id), '[]')
    FROM replies r WHERE r.author_id = $1),
  'likes', (SELECT coalesce(jsonb_agg(to_jsonb(l) ORDER BY l.created_at, l.id), '[]')
    FROM likes l WHERE l.user_id = $1),
  'stories', (SELECT coalesce(jsonb_agg(to_jsonb(s) ORDER BY s.created_at, s.id), '[]')
    FROM stories s WHERE s.user_id = $1),
  'linkedAccounts', (SELECT coalesce(jsonb_agg(
      to_jsonb(a) - 'access_token' - 'refresh_token' - 'id_token'
      ORDER BY a.created_at, a.id), '[]')
    FROM accounts a WHERE a.user_id = $1),
  'sessions', (SELECT coalesce(jsonb_agg(
      to_jsonb(se) - 'session_token_sha256' ORDER BY se.created_at, se.id), '[]')
    FROM sessions se WHERE se.user_id = $1),
  'securityEvents', (SELECT coalesce(jsonb_agg(
      to_jsonb(e) || jsonb_build_object('ip', host(e.ip)) ORDER BY e.created_at, e.id), '[]')
    FROM audit_events e WHERE e.user_id = $1),
  'notifications', (SELECT coalesce(jsonb_agg(to_jsonb(n) ORDER BY n.created_at, n.id), '[]')
    FROM notifications n WHERE n.recipient_id = $1),
  'quarantinedValues', (SELECT coalesce(jsonb_agg(to_jsonb(q) ORDER BY q.quarantined_at, q.id), '[]')
    FROM quarantined_values q WHERE q.user_id = $1)
)::text AS document
"#;
