-- Security audit trail: who did what, from where. Rows of a user go with the
-- user (erasure); the account deletion itself is kept without a user.
CREATE TABLE audit_events (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    user_id uuid REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL,
    ip inet,
    user_agent text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_user_id_created_at_idx ON audit_events (user_id, created_at);
CREATE INDEX audit_events_created_at_idx ON audit_events (created_at);

-- Outgoing email, written in the same transaction as the token it carries and
-- sent by a background worker; several instances share it with
-- FOR UPDATE SKIP LOCKED. A row is deleted once sent, so the links it carries
-- live no longer than needed.
CREATE TABLE email_outbox (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    user_id uuid REFERENCES users (id) ON DELETE CASCADE,
    recipient text NOT NULL,
    subject text NOT NULL,
    text_body text NOT NULL,
    html_body text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_outbox_user_id_idx ON email_outbox (user_id);
CREATE INDEX email_outbox_next_attempt_at_idx ON email_outbox (next_attempt_at);
SELECT diesel_manage_updated_at('email_outbox');

-- Fixed-window counters for brute-force limits, shared by every instance.
CREATE TABLE rate_limit_buckets (
    key text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    count integer NOT NULL,
    CONSTRAINT rate_limit_buckets_count_positive CHECK (count > 0)
);
CREATE INDEX rate_limit_buckets_window_start_idx ON rate_limit_buckets (window_start);
