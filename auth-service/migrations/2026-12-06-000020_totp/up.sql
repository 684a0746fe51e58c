-- A second factor: TOTP (RFC 6238) with one-time recovery codes.

-- One TOTP secret per account, AES-256-GCM encrypted under a key derived
-- from MFA_ENCRYPTION_KEY, the user id as associated data (a ciphertext
-- copied to another account does not decrypt). confirmed_at NULL: a
-- pending enrolment, replaced by the next one. last_used_step: the
-- time step (unix time / 30) of the last code accepted; a code of that
-- step or an earlier one is refused, so each code works once.
CREATE TABLE totp_factors (
    user_id           uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_ciphertext bytea       NOT NULL,
    secret_nonce      bytea       NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    confirmed_at      timestamptz,
    last_used_step    bigint
);

-- Recovery codes, stored as HMAC-SHA256 (key derived from
-- MFA_ENCRYPTION_KEY) of the user id and the code; a used one is deleted.
CREATE TABLE recovery_codes (
    user_id   uuid  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash bytea NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- Whether the account has TOTP on (the access token's `mfa` claim), kept
-- beside the email so a refresh reads both in one query.
ALTER TABLE users ADD COLUMN totp_enabled boolean NOT NULL DEFAULT false;

-- Whether the session was opened with a second factor: its tokens' `amr`
-- is ["pwd", "otp"] then, ["pwd"] otherwise, for the session's lifetime.
ALTER TABLE sessions ADD COLUMN second_factor boolean NOT NULL DEFAULT false;
