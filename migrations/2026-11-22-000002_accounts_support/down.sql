DROP INDEX sessions_expires_idx;
DROP INDEX verification_tokens_expires_idx;
DROP TABLE rate_limit_buckets;
DROP TABLE email_outbox;
DROP TABLE audit_events;
