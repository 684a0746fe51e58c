-- Two statements every login, signup and refresh makes, as functions, so
-- the service can call them as prepared statements: diesel prepares (and
-- keeps per connection) every statement it builds, but never one written
-- as raw SQL, which PostgreSQL then parses and plans on every call
-- (issue 26: pgbench ran a refresh's statements at 1,870 transactions/s
-- prepared, 780 planned anew each time). PL/pgSQL keeps the plans of its
-- statements per connection.

-- The per-client limit's GCRA step (see store/rate_limits.rs): counts one
-- request of `p_client` against `p_burst` requests per
-- `p_burst × p_step_seconds`. NULL lets it through; a number refuses it
-- for that many seconds.
CREATE FUNCTION rate_limit_take(p_client text, p_step_seconds float8, p_burst integer)
RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
    step interval := p_step_seconds * interval '1 second';
    wait float8;
BEGIN
    INSERT INTO rate_limits AS r (client, tat) VALUES (p_client, now() + step)
    ON CONFLICT (client) DO UPDATE
        SET tat = greatest(r.tat, now()) + step
        WHERE greatest(r.tat, now()) + step <= now() + p_burst * step;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    SELECT extract(epoch FROM tat + step - p_burst * step - now())::float8
        INTO wait FROM rate_limits WHERE client = p_client;
    -- Swept between the two statements: the wait had run out anyway.
    RETURN greatest(coalesce(wait, 0), 0);
END
$$;

-- Remembers that `p_user` logged in from `p_network` until
-- `p_expires_at`, and sweeps up to 100 memories expired before `p_now`
-- (never this one, which the same statement writes). Answers how many it
-- swept.
CREATE FUNCTION remember_network(
    p_user uuid, p_network bytea, p_expires_at timestamptz, p_now timestamptz
) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    swept integer;
BEGIN
    WITH gone AS (
        DELETE FROM known_networks WHERE (user_id, network_hash) IN
            (SELECT user_id, network_hash FROM known_networks
             WHERE expires_at < p_now AND (user_id, network_hash) <> (p_user, p_network)
             ORDER BY expires_at LIMIT 100 FOR UPDATE SKIP LOCKED)
        RETURNING 1
    ), kept AS (
        INSERT INTO known_networks (user_id, network_hash, expires_at)
        VALUES (p_user, p_network, p_expires_at)
        ON CONFLICT (user_id, network_hash) DO UPDATE SET expires_at = EXCLUDED.expires_at
        RETURNING 1
    )
    SELECT count(*)::integer INTO swept FROM gone;
    RETURN swept;
END
$$;
