DROP INDEX CONCURRENTLY IF EXISTS posts_author_id_created_at_idx;
