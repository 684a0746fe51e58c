DROP TABLE event_outbox;
DROP FUNCTION event_outbox_notify();
ALTER TABLE sessions DROP COLUMN user_agent, DROP COLUMN ip;
