DROP INDEX CONCURRENTLY IF EXISTS stories_user_id_created_at_idx;
