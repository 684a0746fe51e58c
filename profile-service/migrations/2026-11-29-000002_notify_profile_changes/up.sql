-- Every update or delete of a profile is announced on the channel
-- `profile_changed` with the user's id (both ids if it changed; `*` after a
-- TRUNCATE), in the same transaction, so each replica's cache drops the
-- entry the moment the change commits. A trigger covers every writer, an
-- operator's psql session included. An INSERT needs no news: a profile
-- that did not exist cannot be cached.
CREATE FUNCTION notify_profile_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('profile_changed', '*');
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('profile_changed', OLD.user_id::text);
    ELSE
        PERFORM pg_notify('profile_changed', NEW.user_id::text);
        IF NEW.user_id <> OLD.user_id THEN
            PERFORM pg_notify('profile_changed', OLD.user_id::text);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER profile_changed
    AFTER UPDATE OR DELETE ON profiles
    FOR EACH ROW EXECUTE FUNCTION notify_profile_changed();

CREATE TRIGGER profiles_truncated
    AFTER TRUNCATE ON profiles
    FOR EACH STATEMENT EXECUTE FUNCTION notify_profile_changed();
