-- The sweeper's lookup of expired verification tokens.
CREATE INDEX CONCURRENTLY IF NOT EXISTS verification_tokens_expires_idx ON verification_tokens (expires);
