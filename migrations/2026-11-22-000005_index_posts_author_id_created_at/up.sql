-- A user's posts, newest first.
CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_author_id_created_at_idx ON posts (author_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
