-- A user's goals, nearest deadline first.
CREATE INDEX CONCURRENTLY IF NOT EXISTS goals_user_id_deadline_idx ON goals (user_id, deadline, id) WHERE deleted_at IS NULL;
