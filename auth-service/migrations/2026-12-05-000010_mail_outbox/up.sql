-- Part two: verified addresses, one-time tokens sent by mail, and the
-- outbox the mail leaves through.

-- Accounts that existed before verification did were made under "off"
-- (verified at signup); new rows say what the signup decided.
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT true;
ALTER TABLE users ALTER COLUMN email_verified SET DEFAULT false;

-- One live token per account and purpose: issuing a new one replaces the
-- old (which stops working), and its created_at is when the account was
-- last mailed for that purpose (MAIL_INTERVAL_SECONDS). Only the SHA-256
-- of the token is kept; the clear token lives in the outbox row until the
-- SMTP server accepted it.
CREATE TABLE one_time_tokens (
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     text        NOT NULL CHECK (purpose IN ('verify', 'reset')),
    token_hash  bytea       NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, purpose)
);

-- Work that happens after the response: written in the transaction of the
-- change that needs it, claimed by any replica's runner with FOR UPDATE
-- SKIP LOCKED, deleted once done. A claim leases the row until
-- next_attempt_at, so a runner killed mid-delivery leaves it to another.
CREATE TABLE outbox (
    id               bigserial   PRIMARY KEY,
    kind             text        NOT NULL,
    payload          jsonb       NOT NULL,
    attempts         integer     NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    -- Set when the row will never be delivered (a final refusal, or too
    -- old): kept for an operator, its secrets erased.
    failed_at        timestamptz,
    last_error       text
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE failed_at IS NULL;

-- Wakes the runners as soon as a row is committed (they poll as well).
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', NEW.kind);
    RETURN NULL;
END;
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH ROW EXECUTE FUNCTION outbox_notify();
