DROP TABLE known_networks;
DROP TABLE login_account_failures;
DROP TABLE login_failures;
CREATE TABLE login_failures (
    email         text        PRIMARY KEY,
    failures      integer     NOT NULL,
    locked_until  timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_updated_at_idx ON login_failures (updated_at);
ALTER TABLE users DROP CONSTRAINT users_email_skeleton_key;
ALTER TABLE users DROP COLUMN email_skeleton;
