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
/// accounts, sessions and security events. No password hash, token or token
/// hash is included; soft-deleted items are, with their `deletedAt`. Returned
/// as JSON text, so the server holds it once before parsing it for the response.
pub async fn document(conn: &mut AsyncPgConnection, user_id: Uuid) -> diesel::QueryResult<String> {
    diesel::sql_query(EXPORT)
        .bind::<SqlUuid, _>(user_id)
        .get_result::<Document>(conn)
        .await
        .map(|row| row.document)
}

const EXPORT: &str = r#"
SELECT jsonb_build_object(
  'exportedAt', now(),
  'profile', (SELECT jsonb_build_object(
      'id', u.id, 'email', u.email, 'name', u.name, 'image', u.image,
      'verified', u.verified, 'emailVerified', u.email_verified,
      'hasPassword', u.password_hash IS NOT NULL,
      'currentRole', u."current_role", 'experienceLevel', u.experience_level,
      'industry', u.industry, 'yearsOfExperience', u.years_of_experience,
      'currentSkills', u.current_skills, 'targetSkills', u.target_skills,
      'bio', u.bio, 'currentGoals', u.current_goals,
      'achievementScore', u.achievement_score,
      'dailyGenerationCount', u.daily_generation_count,
      'lastGenerationDate', u.last_generation_date,
      'createdAt', u.created_at, 'updatedAt', u.updated_at)
    FROM users u WHERE u.id = $1),
  'goals', (SELECT coalesce(jsonb_agg(jsonb_build_object(
      'id', g.id, 'title', g.title, 'period', g.period, 'status', g.status,
      'startDate', g.start_date, 'deadline', g.deadline, 'completedAt', g.completed_at,
      'createdAt', g.created_at, 'updatedAt', g.updated_at, 'deletedAt', g.deleted_at)
      ORDER BY g.created_at), '[]') FROM goals g WHERE g.user_id = $1),
  'posts', (SELECT coalesce(jsonb_agg(jsonb_build_object(
      'id', p.id, 'title', p.title, 'content', p.content, 'status', p.status,
      'createdAt', p.created_at, 'updatedAt', p.updated_at, 'deletedAt', p.deleted_at)
      ORDER BY p.created_at), '[]') FROM posts p WHERE p.author_id = $1),
  'replies', (SELECT coalesce(jsonb_agg(jsonb_build_object(
      'id', r.id, 'postId', r.post_id, 'content', r.content,
      'createdAt', r.created_at, 'updatedAt', r.updated_at, 'deletedAt', r.deleted_at)
      ORDER BY r.created_at), '[]') FROM replies r WHERE r.author_id = $1),
  'likes', (SELECT coalesce(jsonb_agg(jsonb_build_object(
      'postId', l.post_id, 'createdAt', l.created_at)
      ORDER BY l.created_at), '[]') FROM likes l WHERE l.user_id = $1),
  'stories', (SELECT coalesce(jsonb_agg(jsonb_build_object(
      'id', s.id, 'period', s.period, 'content', s.content,
      'createdAt', s.created_at, 'updatedAt', s.updated_at)
      ORDER BY s.created_at), '[]') FROM stories s WHERE s.user_id = $1),
  'linkedAccounts', (SELECT coalesce(jsonb_agg(jsonb_build_object(
      'provider', a.provider, 'providerAccountId', a.provider_account_id,
      'type', a.type, 'scope', a.scope, 'createdAt', a.created_at)
      ORDER BY a.created_at), '[]') FROM accounts a WHERE a.user_id = $1),
  'sessions', (SELECT coalesce(jsonb_agg(jsonb_build_object(
      'id', se.id, 'createdAt', se.created_at, 'expires', se.expires)
      ORDER BY se.created_at), '[]') FROM sessions se WHERE se.user_id = $1),
  'securityEvents', (SELECT coalesce(jsonb_agg(jsonb_build_object(
      'kind', e.kind, 'ip', host(e.ip), 'userAgent', e.user_agent, 'createdAt', e.created_at)
      ORDER BY e.created_at), '[]') FROM audit_events e WHERE e.user_id = $1)
)::text AS document
"#;
