DROP TRIGGER sessions_announce_end ON sessions;
DROP FUNCTION sessions_announce_end();
DROP TABLE notifications;
DROP TYPE notification_kind;
