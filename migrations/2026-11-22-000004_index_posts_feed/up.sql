-- The feed: published, not deleted, newest first, keyset on (created_at, id).
CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_feed_idx ON posts (created_at DESC, id DESC) WHERE status = 'PUBLISHED' AND deleted_at IS NULL;
