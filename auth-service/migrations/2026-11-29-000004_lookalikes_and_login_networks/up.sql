-- Emails are NFKC-normalised from this version on (they were NFC). Rows
-- stored under the older rule are re-normalised here, unless that would
-- make two accounts one: such a row keeps its email, and the service logs
-- it at every start until an operator decides (never merged, never dropped).
WITH target AS (
    SELECT id, lower(normalize(email, NFKC)) AS norm FROM users
), movable AS (
    SELECT t.id, t.norm
    FROM target t JOIN users u ON u.id = t.id
    WHERE u.email <> t.norm
      AND (SELECT count(*) FROM target t2 WHERE t2.norm = t.norm) = 1
      AND NOT EXISTS (SELECT 1 FROM users o WHERE o.email = t.norm)
)
UPDATE users SET email = movable.norm, updated_at = now()
FROM movable WHERE users.id = movable.id;

-- What an address looks like (its non-ASCII characters replaced by their
-- Unicode confusable skeleton): one account per look. The service fills
-- it for older rows at start-up; a row whose skeleton is taken keeps NULL
-- and is logged for an operator.
ALTER TABLE users ADD COLUMN email_skeleton text;
ALTER TABLE users ADD CONSTRAINT users_email_skeleton_key UNIQUE (email_skeleton);

-- Login back-off is counted per email *and client network* (an IPv4
-- address, an IPv6 /64): strangers' failures never lock a user out of
-- their own network. Attempts are counted before bcrypt runs.
DROP TABLE login_failures;
CREATE TABLE login_failures (
    email         text        NOT NULL,
    network       text        NOT NULL,
    failures      integer     NOT NULL,
    locked_until  timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (email, network)
);
CREATE INDEX login_failures_updated_at_idx ON login_failures (updated_at);

-- Attempts per email per hour from networks that never logged in to it:
-- the account-wide ceiling that a botnet spread over many networks meets.
CREATE TABLE login_account_failures (
    email         text        PRIMARY KEY,
    window_start  timestamptz NOT NULL,
    failures      integer     NOT NULL
);
CREATE INDEX login_account_failures_window_start_idx ON login_account_failures (window_start);

-- Networks a user has logged in from, as an HMAC of the network keyed
-- with a server secret, until the refresh-token lifetime after the last
-- such login. They are exempt from the account-wide ceiling.
CREATE TABLE known_networks (
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    network_hash  bytea       NOT NULL,
    expires_at    timestamptz NOT NULL,
    PRIMARY KEY (user_id, network_hash)
);
CREATE INDEX known_networks_expires_at_idx ON known_networks (expires_at);
