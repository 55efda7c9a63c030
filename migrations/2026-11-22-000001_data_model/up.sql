-- The growth diary's data model, as the Prisma/NextAuth app kept it, in snake_case.
-- Every table that a user owns cascades from users, so erasing an account
-- erases everything it owns. Goals, posts and replies are soft-deleted
-- (deleted_at) and hidden from every read.

CREATE TYPE experience_level AS ENUM
    ('INTERN', 'JUNIOR', 'MID_LEVEL', 'SENIOR', 'LEAD', 'MANAGER', 'DIRECTOR', 'VP', 'C_LEVEL');
CREATE TYPE goal_period AS ENUM ('DAILY', 'WEEKLY', 'MONTHLY', 'QUARTERLY', 'YEARLY');
CREATE TYPE goal_status AS ENUM ('ACTIVE', 'COMPLETED');
CREATE TYPE post_status AS ENUM ('DRAFT', 'PUBLISHED');

CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    email text NOT NULL,
    name text,
    password_hash text,
    verified boolean NOT NULL DEFAULT false,
    email_verified timestamptz,
    image text,
    "current_role" text,
    experience_level experience_level NOT NULL DEFAULT 'MID_LEVEL',
    industry text,
    years_of_experience integer,
    current_skills text[] NOT NULL DEFAULT '{}',
    target_skills text[] NOT NULL DEFAULT '{}',
    bio text,
    current_goals text[] NOT NULL DEFAULT '{}',
    achievement_score integer NOT NULL DEFAULT 0,
    daily_generation_count integer NOT NULL DEFAULT 0,
    last_generation_date timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_email_lowercase CHECK (email = lower(email)),
    CONSTRAINT users_years_of_experience_range CHECK (years_of_experience BETWEEN 0 AND 80),
    CONSTRAINT users_daily_generation_count_nonnegative CHECK (daily_generation_count >= 0)
);
COMMENT ON COLUMN users.password_hash IS 'argon2id PHC string; NULL for accounts that only sign in with OAuth';
SELECT diesel_manage_updated_at('users');

CREATE TABLE goals (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title text NOT NULL,
    period goal_period NOT NULL,
    status goal_status NOT NULL DEFAULT 'ACTIVE',
    start_date timestamptz NOT NULL DEFAULT now(),
    deadline timestamptz NOT NULL,
    completed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    CONSTRAINT goals_deadline_after_start CHECK (deadline >= start_date)
);
CREATE INDEX goals_user_id_status_idx ON goals (user_id, status);
CREATE INDEX goals_user_id_period_idx ON goals (user_id, period);
SELECT diesel_manage_updated_at('goals');

CREATE TABLE posts (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    author_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title text NOT NULL,
    content text NOT NULL,
    status post_status NOT NULL DEFAULT 'DRAFT',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX posts_author_id_status_idx ON posts (author_id, status);
CREATE INDEX posts_status_created_at_idx ON posts (status, created_at);
CREATE INDEX posts_created_at_idx ON posts (created_at);
SELECT diesel_manage_updated_at('posts');

CREATE TABLE likes (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    post_id uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT likes_user_id_post_id_key UNIQUE (user_id, post_id)
);
CREATE INDEX likes_post_id_idx ON likes (post_id);

CREATE TABLE replies (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    author_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    post_id uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    content text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX replies_post_id_created_at_idx ON replies (post_id, created_at);
CREATE INDEX replies_author_id_idx ON replies (author_id);
SELECT diesel_manage_updated_at('replies');

CREATE TABLE stories (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    period text NOT NULL,
    content text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stories_user_id_period_key UNIQUE (user_id, period)
);
SELECT diesel_manage_updated_at('stories');

-- Auth.js (NextAuth) Prisma adapter tables.
CREATE TABLE accounts (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type text NOT NULL,
    provider text NOT NULL,
    provider_account_id text NOT NULL,
    refresh_token text,
    access_token text,
    expires_at bigint,
    token_type text,
    scope text,
    id_token text,
    session_state text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT accounts_provider_provider_account_id_key UNIQUE (provider, provider_account_id)
);
CREATE INDEX accounts_user_id_idx ON accounts (user_id);
COMMENT ON COLUMN accounts.refresh_token IS 'AES-256-GCM ciphertext (base64url of nonce || ciphertext); NULL when no ENCRYPTION_KEY is set';
COMMENT ON COLUMN accounts.access_token IS 'AES-256-GCM ciphertext (base64url of nonce || ciphertext); NULL when no ENCRYPTION_KEY is set';
COMMENT ON COLUMN accounts.id_token IS 'AES-256-GCM ciphertext (base64url of nonce || ciphertext); NULL when no ENCRYPTION_KEY is set';
SELECT diesel_manage_updated_at('accounts');

CREATE TABLE sessions (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_token_sha256 bytea NOT NULL,
    expires timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sessions_session_token_sha256_key UNIQUE (session_token_sha256),
    CONSTRAINT sessions_session_token_sha256_length CHECK (octet_length(session_token_sha256) = 32)
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
COMMENT ON COLUMN sessions.session_token_sha256 IS 'SHA-256 of the session token; the token itself is never stored';
SELECT diesel_manage_updated_at('sessions');

CREATE TABLE verification_tokens (
    identifier text NOT NULL,
    token_sha256 bytea NOT NULL,
    expires timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT verification_tokens_pkey PRIMARY KEY (identifier, token_sha256),
    CONSTRAINT verification_tokens_token_sha256_key UNIQUE (token_sha256),
    CONSTRAINT verification_tokens_token_sha256_length CHECK (octet_length(token_sha256) = 32)
);
COMMENT ON COLUMN verification_tokens.token_sha256 IS 'SHA-256 of the verification token; the token itself is never stored';

CREATE TABLE password_resets (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_sha256 bytea NOT NULL,
    expires_at timestamptz NOT NULL,
    used boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT password_resets_token_sha256_key UNIQUE (token_sha256),
    CONSTRAINT password_resets_token_sha256_length CHECK (octet_length(token_sha256) = 32)
);
CREATE INDEX password_resets_user_id_idx ON password_resets (user_id);
COMMENT ON COLUMN password_resets.token_sha256 IS 'SHA-256 of the reset token; the token itself is never stored';
