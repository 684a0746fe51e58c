-- Accounts. Emails are stored trimmed, NFC-normalised and lower-cased, so
-- a plain unique constraint is the case-insensitive one; the check keeps
-- it that way.
CREATE TABLE users (
    id             uuid        PRIMARY KEY,
    email          text        NOT NULL,
    password_hash  text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_email_lower CHECK (email = lower(email))
);

-- Failed logins in a row per email, known or not: keyed by the address
-- rather than the account, so an unknown email backs off exactly like a
-- real one and the back-off tells nothing about who has an account.
CREATE TABLE login_failures (
    email         text        PRIMARY KEY,
    failures      integer     NOT NULL,
    locked_until  timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_updated_at_idx ON login_failures (updated_at);
