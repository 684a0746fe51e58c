DROP FUNCTION remember_network(uuid, bytea, timestamptz, timestamptz);
DROP FUNCTION rate_limit_take(text, float8, integer);
