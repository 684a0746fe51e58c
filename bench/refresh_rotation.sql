-- One `POST /refresh` of the auth service, statement for statement as the
-- service sends them (PostgreSQL's log_statement=all of one refresh,
-- 2026-12-06), for `pgbench -M prepared -D run=<n> -D round=0 -D user=<id>`
-- (`bench refresh` runs it). Client c of run n rotates its own session,
-- md5('s:n:c'), whose k-th token is md5('t:n:c:k'); `bench refresh`
-- creates each session with its token 0. The per-client limit counts
-- every request against one client, 127.0.0.1, as in the service's run.
\set prev :round
\set round :round + 1
INSERT INTO rate_limits AS r (client, tat) VALUES ('127.0.0.1', now() + 6e-05 * interval '1 second') ON CONFLICT (client) DO UPDATE SET tat = greatest(r.tat, now()) + 6e-05 * interval '1 second' WHERE greatest(r.tat, now()) + 6e-05 * interval '1 second' <= now() + 1000000 * 6e-05 * interval '1 second';
BEGIN;
SELECT lock_session(md5('s:' || :run || ':' || :client_id)::uuid) AS locked;
SELECT "sessions"."id", "sessions"."user_id", "sessions"."revoked_at", "sessions"."expires_at", "sessions"."second_factor" FROM "sessions" WHERE ("sessions"."id" = md5('s:' || :run || ':' || :client_id)::uuid) LIMIT 1;
SELECT "refresh_tokens"."id", "refresh_tokens"."token_hash", "refresh_tokens"."used_at", "refresh_tokens"."expires_at" FROM "refresh_tokens" WHERE (("refresh_tokens"."id" = md5('t:' || :run || ':' || :client_id || ':' || :prev)::uuid) AND ("refresh_tokens"."session_id" = md5('s:' || :run || ':' || :client_id)::uuid)) LIMIT 1;
SELECT "users"."email", "users"."email_verified", "users"."totp_enabled" FROM "users" WHERE ("users"."id" = :user) LIMIT 1;
UPDATE "refresh_tokens" SET "used_at" = now() WHERE ("refresh_tokens"."id" = md5('t:' || :run || ':' || :client_id || ':' || :prev)::uuid);
INSERT INTO "refresh_tokens" ("id", "session_id", "parent_id", "token_hash", "issued_at", "expires_at") VALUES (md5('t:' || :run || ':' || :client_id || ':' || :round)::uuid, md5('s:' || :run || ':' || :client_id)::uuid, md5('t:' || :run || ':' || :client_id || ':' || :prev)::uuid, sha256(('t:' || :round)::bytea), now(), now() + interval '7 days');
UPDATE "sessions" SET "refreshed_at" = CURRENT_TIMESTAMP, "expires_at" = now() + interval '7 days', "ip" = '127.0.0.1', "user_agent" = NULL WHERE ("sessions"."id" = md5('s:' || :run || ':' || :client_id)::uuid);
COMMIT;
WITH swept AS ( DELETE FROM known_networks WHERE (user_id, network_hash) IN (SELECT user_id, network_hash FROM known_networks WHERE expires_at < now() AND (user_id, network_hash) <> (:user, sha256(('n:' || :user)::bytea)) ORDER BY expires_at LIMIT 100 FOR UPDATE SKIP LOCKED)) INSERT INTO known_networks (user_id, network_hash, expires_at) VALUES (:user, sha256(('n:' || :user)::bytea), now() + interval '7 days') ON CONFLICT (user_id, network_hash) DO UPDATE SET expires_at = EXCLUDED.expires_at;
