DROP INDEX CONCURRENTLY IF EXISTS verification_tokens_expires_idx;
