-- A post's replies, oldest first.
CREATE INDEX CONCURRENTLY IF NOT EXISTS replies_post_id_created_at_id_idx ON replies (post_id, created_at, id) WHERE deleted_at IS NULL;
