-- Pending OAuth sign-ins: the state (hashed), PKCE verifier and OpenID
-- Connect nonce of each, kept server-side for 10 minutes and consumed once.
CREATE TABLE oauth_states (
    state_sha256 bytea PRIMARY KEY,
    provider text NOT NULL,
    pkce_verifier text NOT NULL,
    nonce text NOT NULL,
    redirect_to text NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT oauth_states_state_sha256_length CHECK (octet_length(state_sha256) = 32)
);
CREATE INDEX oauth_states_expires_at_idx ON oauth_states (expires_at);
COMMENT ON COLUMN oauth_states.state_sha256 IS 'SHA-256 of the OAuth state parameter; the state itself is never stored';
