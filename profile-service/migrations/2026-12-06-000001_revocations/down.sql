DROP TRIGGER refuse_deleted_profile ON profiles;
DROP FUNCTION refuse_deleted_profile();
DROP TABLE received_events;
DROP TABLE revoked_users;
DROP TABLE revoked_sessions;
