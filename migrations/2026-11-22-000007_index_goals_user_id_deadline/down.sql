DROP INDEX CONCURRENTLY IF EXISTS goals_user_id_deadline_idx;
