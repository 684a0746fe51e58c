-- Locks one session row for the current transaction, waiting at most the
-- transaction's lock_timeout. It answers false when that wait ran out, and
-- only then: the caller tells contention (503, try again) from every other
-- failure (a broken schema is a 500) by the condition's name, not by the
-- text of a message that changes with the server's language.
CREATE FUNCTION lock_session(session uuid) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM sessions WHERE id = session FOR UPDATE;
    RETURN true;
EXCEPTION WHEN lock_not_available THEN
    RETURN false;
END
$$;
