-- Notifications: someone else liked or replied to a user's post. A like
-- notifies once per (actor, post): the unique rule below (NULLS NOT DISTINCT,
-- so a like's NULL reply_id counts as one value) is the arbiter of the like's
-- INSERT ... ON CONFLICT, and an unlike only withdraws an unread notification,
-- so liking again revives it instead of notifying again.
CREATE TYPE notification_kind AS ENUM ('POST_LIKED', 'POST_REPLIED');

CREATE TABLE notifications (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    recipient_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    actor_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind notification_kind NOT NULL,
    post_id uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    reply_id uuid REFERENCES replies (id) ON DELETE CASCADE,
    read_at timestamptz,
    withdrawn boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notifications_reply_matches_kind CHECK ((kind = 'POST_REPLIED') = (reply_id IS NOT NULL)),
    CONSTRAINT notifications_not_self CHECK (recipient_id <> actor_id)
);

-- The inbox: a keyset range scan per page, newest first.
CREATE INDEX notifications_recipient_id_created_at_id_idx ON notifications (recipient_id, created_at, id);
-- unreadNotificationCount counts from this small index only.
CREATE INDEX notifications_unread_idx ON notifications (recipient_id) WHERE read_at IS NULL AND NOT withdrawn;
CREATE UNIQUE INDEX notifications_actor_id_post_id_reply_id_key
    ON notifications (actor_id, post_id, reply_id) NULLS NOT DISTINCT;
CREATE INDEX notifications_post_id_idx ON notifications (post_id);
CREATE INDEX notifications_reply_id_idx ON notifications (reply_id) WHERE reply_id IS NOT NULL;

-- Sessions that end (sign-out, sign-out everywhere, password change or reset,
-- account deletion, expiry cleanup) are announced once per user and
-- statement, so every instance closes the WebSockets they opened. The
-- payload carries ids only.
CREATE FUNCTION sessions_announce_end() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('growth_diary_events', json_build_object('k', 'sessions_ended', 'user', u.user_id)::text)
    FROM (SELECT DISTINCT user_id FROM ended_rows) u;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER sessions_announce_end AFTER DELETE ON sessions
    REFERENCING OLD TABLE AS ended_rows FOR EACH STATEMENT EXECUTE FUNCTION sessions_announce_end();
