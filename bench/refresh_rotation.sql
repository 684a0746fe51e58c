-- One `POST /refresh` of the auth service, statement for statement as the
-- service sends them (PostgreSQL's log_statement=all of one refresh,
-- 2026-12-06; the limiter's step, the session lock and the known network
-- are calls of the functions in the `hot_path_functions` migration), for `pgbench -M prepared -D run=<n> -D round=0 -D user=<id>`
-- (`bench refresh` runs it). Client c of run n rotates its own session,
-- md5('s:n:c'), whose k-th token is md5('t:n:c:k'); `bench refresh`
-- creates each session with its token 0. The per-client limit counts
-- every request against one client, 127.0.0.1, as in the service's run.
\set prev :round
\set round :round + 1
SELECT rate_limit_take('127.0.0.1', 6e-05, 1000000);
BEGIN;
SELECT lock_session(md5('s:' || :run || ':' || :client_id)::uuid);
SELECT "sessions"."id", "sessions"."user_id", "sessions"."revoked_at", "sessions"."expires_at", "sessions"."second_factor", "users"."email", "users"."email_verified", "users"."totp_enabled", "refresh_tokens"."id", "refresh_tokens"."token_hash", "refresh_tokens"."used_at", "refresh_tokens"."expires_at" FROM (("sessions" INNER JOIN "users" ON ("sessions"."user_id" = "users"."id")) LEFT OUTER JOIN "refresh_tokens" ON (("refresh_tokens"."session_id" = "sessions"."id") AND ("refresh_tokens"."id" = md5('t:' || :run || ':' || :client_id || ':' || :prev)::uuid))) WHERE ("sessions"."id" = md5('s:' || :run || ':' || :client_id)::uuid) LIMIT 1;
UPDATE "refresh_tokens" SET "used_at" = now() WHERE ("refresh_tokens"."id" = md5('t:' || :run || ':' || :client_id || ':' || :prev)::uuid);
INSERT INTO "refresh_tokens" ("id", "session_id", "parent_id", "token_hash", "issued_at", "expires_at") VALUES (md5('t:' || :run || ':' || :client_id || ':' || :round)::uuid, md5('s:' || :run || ':' || :client_id)::uuid, md5('t:' || :run || ':' || :client_id || ':' || :prev)::uuid, sha256(('t:' || :round)::bytea), now(), now() + interval '7 days');
UPDATE "sessions" SET "refreshed_at" = CURRENT_TIMESTAMP, "expires_at" = now() + interval '7 days', "ip" = '127.0.0.1', "user_agent" = NULL WHERE ("sessions"."id" = md5('s:' || :run || ':' || :client_id)::uuid);
COMMIT;
SELECT remember_network(:user, sha256(('n:' || :user)::bytea), now() + interval '7 days', now());
