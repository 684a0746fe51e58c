-- Part two: what the auth service's events revoked, kept so a restart
-- does not bring a revoked token back. Each replica holds the live rows in
-- memory (loaded at start, kept current over NOTIFY profile_changed), and
-- checks every bearer token there: no query per request. Rows go once the
-- tokens they cover have expired.

-- session.revoked: access tokens with this sid.
CREATE TABLE revoked_sessions (
    session_id  uuid        PRIMARY KEY,
    expires_at  timestamptz NOT NULL
);

-- user.revoked (tokens issued before `before`) and user.deleted (every
-- token), merged per user: the latest cut-off, the latest expiry.
CREATE TABLE revoked_users (
    user_id     uuid        PRIMARY KEY,
    before      timestamptz,
    deleted     boolean     NOT NULL DEFAULT false,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX revoked_sessions_expires_at ON revoked_sessions (expires_at);
CREATE INDEX revoked_users_expires_at ON revoked_users (expires_at);

-- The webhook ids already applied: a redelivery changes nothing. Kept an
-- hour, far past the 5 minutes a delivery's timestamp may be off.
CREATE TABLE received_events (
    webhook_id   text        PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX received_events_received_at ON received_events (received_at);

-- A deleted user's profile never comes back: a request that raced the
-- deletion (a replica that had not heard yet) cannot recreate the row.
CREATE FUNCTION refuse_deleted_profile() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM revoked_users WHERE user_id = NEW.user_id AND deleted) THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER refuse_deleted_profile
    BEFORE INSERT ON profiles
    FOR EACH ROW EXECUTE FUNCTION refuse_deleted_profile();
