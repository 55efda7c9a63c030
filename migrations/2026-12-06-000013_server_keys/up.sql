-- Secrets the server makes for itself, shared by every instance: the first
-- instance that needs one inserts a random one, the others read it. Never
-- sent to a client. 'device_cookie' signs the device cookies (HMAC-SHA256)
-- that let a browser that once signed in to an account keep signing in to
-- it while strangers guess its password.
CREATE TABLE server_keys (
    name text PRIMARY KEY,
    secret bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT server_keys_secret_length CHECK (octet_length(secret) = 32)
);
