DROP TRIGGER profiles_truncated ON profiles;
DROP TRIGGER profile_changed ON profiles;
DROP FUNCTION notify_profile_changed();
