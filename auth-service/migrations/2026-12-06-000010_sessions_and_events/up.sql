-- Part two: sessions a user can see (where and with what they were last
-- used), and the outbox events leave through.

-- The client of the last use (login or refresh): its User-Agent, cut to
-- 256 characters, and its network (an IPv4 address or an IPv6 /64). The
-- time of the last use is refreshed_at, or created_at before any refresh:
-- a refresh writes the row anyway, and a GET /me never does.
ALTER TABLE sessions ADD COLUMN user_agent text, ADD COLUMN ip text;

-- Events for receivers (EVENT_ENDPOINTS), written in the transaction of
-- the change: one row per event and endpoint, deleted once the endpoint
-- answered 2xx. The body is kept exactly as it is signed and sent; the
-- webhook id is the same for every endpoint and every attempt. A runner
-- delivers only the oldest row of each (endpoint, user), so one user's
-- events arrive in order; a claim leases the row until next_attempt_at.
-- Never given up: a receiver that is down gets its events when it is back.
CREATE TABLE event_outbox (
    id               bigserial   PRIMARY KEY,
    webhook_id       text        NOT NULL,
    endpoint         text        NOT NULL,
    user_id          uuid        NOT NULL,
    body             text        NOT NULL,
    attempts         integer     NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    UNIQUE (webhook_id, endpoint)
);
CREATE INDEX event_outbox_heads ON event_outbox (endpoint, user_id, id);

CREATE FUNCTION event_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', 'event');
    RETURN NULL;
END;
$$;
CREATE TRIGGER event_outbox_notify AFTER INSERT ON event_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION event_outbox_notify();
