-- A session is one login: a family of refresh tokens, each replacing the
-- one before it. Its id is the `sid` claim of every token in it.
CREATE TABLE sessions (
    id            uuid        PRIMARY KEY,
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    refreshed_at  timestamptz,
    revoked_at    timestamptz,
    -- slides forward with each refresh: the newest refresh token's expiry
    expires_at    timestamptz NOT NULL
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- One row per refresh token issued; its id is the token's `jti`. Only a
-- SHA-256 of the token is kept, never the token.
CREATE TABLE refresh_tokens (
    id          uuid        PRIMARY KEY,
    session_id  uuid        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    parent_id   uuid        REFERENCES refresh_tokens (id) ON DELETE SET NULL,
    token_hash  bytea       NOT NULL,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    -- set when the token is exchanged; a second use after the grace
    -- window revokes the session
    used_at     timestamptz,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_parent_id_idx ON refresh_tokens (parent_id);
