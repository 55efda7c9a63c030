-- A user's stories, newest first.
CREATE INDEX CONCURRENTLY IF NOT EXISTS stories_user_id_created_at_idx ON stories (user_id, created_at DESC, id DESC);
