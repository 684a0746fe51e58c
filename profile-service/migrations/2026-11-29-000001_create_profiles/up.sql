-- One profile per user, created from the token's claims on first use.
CREATE TABLE profiles (
    user_id          uuid        PRIMARY KEY,
    -- the `email` claim of the newest token presented, and that token's iat
    email            text        NOT NULL,
    email_issued_at  timestamptz NOT NULL,
    display_name     text,
    bio              text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
