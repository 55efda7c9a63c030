-- squawk-approve-destructive: reverts the initial data model (development and rollback tests only)
DROP TABLE password_resets;
DROP TABLE verification_tokens;
DROP TABLE sessions;
DROP TABLE accounts;
DROP TABLE stories;
DROP TABLE replies;
DROP TABLE likes;
DROP TABLE posts;
DROP TABLE goals;
DROP TABLE users;
DROP TYPE post_status;
DROP TYPE goal_status;
DROP TYPE goal_period;
DROP TYPE experience_level;
