DROP TABLE rate_limit_buckets;
DROP TABLE email_outbox;
DROP TABLE audit_events;
