-- The per-client request limit, shared by every replica: one row per
-- client network with its GCRA "theoretical arrival time". Unlogged: it is
-- cheap to write, and after a crash it starts empty, which only forgives.
CREATE UNLOGGED TABLE rate_limits (
    client  text        PRIMARY KEY,
    tat     timestamptz NOT NULL
);
CREATE INDEX rate_limits_tat_idx ON rate_limits (tat);
