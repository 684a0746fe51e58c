DROP FUNCTION lock_session(uuid);
