-- The sweeper's lookup of expired sessions.
CREATE INDEX CONCURRENTLY IF NOT EXISTS sessions_expires_idx ON sessions (expires);
