DROP TRIGGER outbox_notify ON outbox;
DROP FUNCTION outbox_notify();
DROP TABLE outbox;
DROP TABLE one_time_tokens;
ALTER TABLE users DROP COLUMN email_verified;
