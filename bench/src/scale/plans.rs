//! The hot queries, written out as the store modules send them (diesel's
//! DSL queries as the SQL it generates, `$n` replaced by a representative
//! value from the loaded data), their plans, and the size of every table.
//! Each plan is `EXPLAIN (ANALYZE, BUFFERS)` inside a transaction that is
//! rolled back, so writes are measured without changing the data.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Text};
use uuid::Uuid;

use super::traffic::thousands;

/// Which service's database a query runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Auth,
    Profile,
}

/// One statement a request runs.
pub struct Hot {
    pub db: Db,
    /// The requests that run it.
    pub used_by: &'static str,
    /// The store function it comes from.
    pub name: &'static str,
    pub sql: String,
}

/// Real keys from the loaded data to put in the queries.
pub struct Probe {
    pub user: Uuid,
    pub email: String,
    pub session: Uuid,
    pub newest_token: Uuid,
    pub parent_token: Uuid,
    pub failure_email: String,
    pub failure_network: String,
    pub account_email: String,
}

/// The sweeps the services run, by statement (the services bind the
/// cut-off, `now() - 1 day`, as a parameter).
pub const SWEEP_SESSIONS: &str = "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions \
     WHERE expires_at < now() - interval '1 day' ORDER BY expires_at \
     LIMIT 100 FOR UPDATE SKIP LOCKED)";
pub const SWEEP_NETWORKS: &str = "DELETE FROM known_networks WHERE (user_id, network_hash) IN \
     (SELECT user_id, network_hash FROM known_networks WHERE expires_at < now() \
     ORDER BY expires_at LIMIT 100 FOR UPDATE SKIP LOCKED)";
pub const SWEEP_FAILURES: &str = "DELETE FROM login_failures WHERE (email, network) IN \
     (SELECT email, network FROM login_failures WHERE updated_at < now() - interval '1 day' \
     AND (locked_until IS NULL OR locked_until < now() - interval '1 day') \
     ORDER BY updated_at LIMIT 100 FOR UPDATE SKIP LOCKED)";
pub const SWEEP_ACCOUNTS: &str = "DELETE FROM login_account_failures WHERE email IN \
     (SELECT email FROM login_account_failures WHERE window_start < now() - interval '1 day' \
     ORDER BY window_start LIMIT 100 FOR UPDATE SKIP LOCKED)";
pub const SWEEP_RATE_LIMITS: &str = "DELETE FROM rate_limits WHERE tat < now()";

const HASH: &str = "'\\x5eb1a7e0c0ffee5eb1a7e0c0ffee5eb1a7e0c0ffee5eb1a7e0c0ffee5eb1a7e0'";

/// Every statement of login, refresh, logout, signup, `GET`/`PATCH /me`
/// and the per-client limit, plus what the foreign keys run on delete.
pub fn hot_queries(p: &Probe) -> Vec<Hot> {
    let (user, email, session) = (p.user, &p.email, p.session);
    let (token, parent) = (p.newest_token, p.parent_token);
    let (f_email, f_net, a_email) = (&p.failure_email, &p.failure_network, &p.account_email);
    let auth = |used_by, name, sql: String| Hot {
        db: Db::Auth,
        used_by,
        name,
        sql,
    };
    let profile = |used_by, name, sql: String| Hot {
        db: Db::Profile,
        used_by,
        name,
        sql,
    };
    vec![
        auth("signup, login, refresh", "rate_limits::take (the per-client limit)", "INSERT INTO rate_limits AS r (client, tat) VALUES ('127.0.0.1', now() + 2.0 * interval '1 second') ON CONFLICT (client) DO UPDATE SET tat = greatest(r.tat, now()) + 2.0 * interval '1 second' WHERE greatest(r.tat, now()) + 2.0 * interval '1 second' <= now() + 30 * 2.0 * interval '1 second'".into()),
        auth("signup, login, refresh (refused)", "rate_limits::take, the wait", "SELECT extract(epoch FROM tat + 2.0 * interval '1 second' - 30 * 2.0 * interval '1 second' - now())::float8 AS seconds FROM rate_limits WHERE client = '198.18.0.1'".into()),
        auth("every minute", "rate_limits::sweep", SWEEP_RATE_LIMITS.into()),
        auth("signup", "users::insert", "INSERT INTO users (id, email, email_skeleton, password_hash) VALUES (gen_random_uuid(), 'explain.probe@example.com', 'explain.probe@example.com', '$2b$04$abcdefghijklmnopqrstuu') RETURNING id, email, password_hash, created_at, updated_at".into()),
        auth("login", "users::find_by_email", format!("SELECT id, email, password_hash, created_at, updated_at FROM users WHERE email = '{email}' LIMIT 1")),
        auth("login", "known_networks::is_known", format!("SELECT EXISTS (SELECT 1 FROM known_networks WHERE user_id = '{user}' AND network_hash = {HASH} AND expires_at > now())")),
        auth("login", "login_failures::reserve, per network", format!("INSERT INTO login_failures AS f (email, network, failures, locked_until, updated_at) VALUES ('{f_email}', '{f_net}', 1, NULL, now()) ON CONFLICT (email, network) DO UPDATE SET failures = f.failures + 1, locked_until = CASE WHEN f.failures + 1 >= 10 THEN now() + LEAST(900, power(2, LEAST(20, f.failures + 1 - 10))) * interval '1 second' ELSE NULL END, updated_at = now() WHERE f.locked_until IS NULL OR f.locked_until <= now()")),
        auth("login (backing off)", "login_failures::reserve, the wait", format!("SELECT locked_until FROM login_failures WHERE email = '{f_email}' AND network = '{f_net}' LIMIT 1")),
        auth("login (new network)", "login_failures::reserve, per account", format!("INSERT INTO login_account_failures AS a (email, window_start, failures) VALUES ('{a_email}', now(), 1) ON CONFLICT (email) DO UPDATE SET window_start = CASE WHEN a.window_start <= now() - interval '1 hour' THEN now() ELSE a.window_start END, failures = CASE WHEN a.window_start <= now() - interval '1 hour' THEN 1 ELSE a.failures + 1 END WHERE a.window_start <= now() - interval '1 hour' OR a.failures < 100")),
        auth("login (ceiling reached)", "login_failures::reserve, the account wait", format!("SELECT window_start FROM login_account_failures WHERE email = '{a_email}' LIMIT 1")),
        auth("login", "login_failures::forget", format!("DELETE FROM login_failures WHERE email = '{f_email}' AND network = '{f_net}'")),
        auth("login (new network)", "login_failures::forget, account", format!("UPDATE login_account_failures SET failures = failures - 1 WHERE email = '{a_email}' AND failures > 0")),
        auth("login", "login_failures::forget, sweep", SWEEP_FAILURES.into()),
        auth("login", "login_failures::forget, account sweep", SWEEP_ACCOUNTS.into()),
        auth("login (weak hash)", "users::set_password_hash", format!("UPDATE users SET password_hash = '$2b$12$abcdefghijklmnopqrstuu', updated_at = now() WHERE id = '{user}'")),
        auth("signup, login, refresh", "known_networks::remember", format!("INSERT INTO known_networks (user_id, network_hash, expires_at) VALUES ('{user}', {HASH}, now() + interval '7 days') ON CONFLICT (user_id, network_hash) DO UPDATE SET expires_at = excluded.expires_at")),
        auth("signup, login, refresh", "known_networks::remember, sweep", SWEEP_NETWORKS.into()),
        auth("login", "sessions::open, session", format!("INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ('00000000-0000-4000-8000-000000000001', '{user}', now(), now() + interval '7 days')")),
        auth("login", "sessions::open, first token", format!("INSERT INTO refresh_tokens (id, session_id, parent_id, token_hash, issued_at, expires_at) VALUES (gen_random_uuid(), '{session}', NULL, {HASH}, now(), now() + interval '7 days')")),
        auth("login", "sessions::open, sweep (delete_long_expired)", SWEEP_SESSIONS.into()),
        auth("refresh", "sessions::rotate, lock_session()", format!("SELECT 1 FROM sessions WHERE id = '{session}' FOR UPDATE")),
        auth("refresh", "sessions::rotate, the session", format!("SELECT id, user_id, revoked_at, expires_at FROM sessions WHERE id = '{session}' LIMIT 1")),
        auth("refresh, logout", "sessions::find_token", format!("SELECT id, token_hash, used_at, expires_at FROM refresh_tokens WHERE id = '{token}' AND session_id = '{session}' LIMIT 1")),
        auth("refresh", "sessions::rotate, the email", format!("SELECT email FROM users WHERE id = '{user}' LIMIT 1")),
        auth("refresh", "sessions::rotate, retire the token", format!("UPDATE refresh_tokens SET used_at = now() WHERE id = '{token}'")),
        auth("refresh", "sessions::rotate, the successor", format!("INSERT INTO refresh_tokens (id, session_id, parent_id, token_hash, issued_at, expires_at) VALUES (gen_random_uuid(), '{session}', '{token}', {HASH}, now(), now() + interval '7 days')")),
        auth("refresh", "sessions::rotate, slide the expiry", format!("UPDATE sessions SET refreshed_at = now(), expires_at = now() + interval '7 days' WHERE id = '{session}'")),
        auth("refresh (replay)", "sessions::rotate, the unused successor", format!("SELECT id, issued_at, expires_at FROM refresh_tokens WHERE parent_id = '{parent}' AND used_at IS NULL LIMIT 1")),
        auth("logout, refresh (reuse)", "sessions::revoke", format!("UPDATE sessions SET revoked_at = now() WHERE id = '{session}' AND revoked_at IS NULL")),
        auth("a session deleted", "ON DELETE CASCADE of its tokens", format!("DELETE FROM refresh_tokens WHERE session_id = '{session}'")),
        auth("a token deleted", "ON DELETE SET NULL of its child", format!("UPDATE refresh_tokens SET parent_id = NULL WHERE parent_id = '{parent}'")),
        auth("a user deleted", "ON DELETE CASCADE of sessions", format!("DELETE FROM sessions WHERE user_id = '{user}'")),
        auth("every start", "users::without_skeleton", "SELECT id, email FROM users WHERE email_skeleton IS NULL AND id > '00000000-0000-0000-0000-000000000000' ORDER BY id LIMIT 500".into()),
        profile("GET /me (cache miss), PATCH /me", "profiles::find", format!("SELECT user_id, email, display_name, bio, created_at, updated_at FROM profiles WHERE user_id = '{user}' LIMIT 1")),
        profile("GET /me, PATCH /me (new user or newer token)", "profiles::mirror_token", format!("INSERT INTO profiles (user_id, email, email_issued_at) VALUES ('{user}', '{email}', now()) ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, email_issued_at = excluded.email_issued_at, updated_at = CASE WHEN profiles.email = excluded.email THEN profiles.updated_at ELSE now() END WHERE profiles.email_issued_at < excluded.email_issued_at RETURNING user_id, email, display_name, bio, created_at, updated_at")),
        profile("PATCH /me", "profiles::update", format!("UPDATE profiles SET display_name = 'Ada', updated_at = now() WHERE user_id = '{user}' RETURNING user_id, email, display_name, bio, created_at, updated_at")),
    ]
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text)]
    #[diesel(column_name = "QUERY PLAN")]
    line: String,
}

/// The plan of `sql`, run (`analyze`) or not, in a transaction that is
/// rolled back either way.
pub fn explain(conn: &mut PgConnection, sql: &str, analyze: bool) -> QueryResult<Vec<String>> {
    let options = if analyze {
        "(ANALYZE, BUFFERS, COSTS OFF)"
    } else {
        "(COSTS OFF)"
    };
    let mut lines = Vec::new();
    let outcome = conn.transaction::<(), diesel::result::Error, _>(|conn| {
        lines = diesel::sql_query(format!("EXPLAIN {options} {sql}"))
            .load::<PlanLine>(conn)?
            .into_iter()
            .map(|l| l.line)
            .collect();
        Err(diesel::result::Error::RollbackTransaction)
    });
    match outcome {
        Ok(()) | Err(diesel::result::Error::RollbackTransaction) => Ok(lines),
        Err(error) => Err(error),
    }
}

#[derive(QueryableByName)]
struct Estimate {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Double)]
    rows: f64,
}

/// Tables with more than 10,000 rows (by the planner's estimate).
pub fn big_tables(conn: &mut PgConnection) -> QueryResult<HashMap<String, f64>> {
    let rows: Vec<Estimate> = diesel::sql_query(
        "SELECT relname::text AS name, reltuples::float8 AS rows FROM pg_class \
         WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace AND reltuples > 10000",
    )
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.name, r.rows)).collect())
}

/// The big tables `plan` reads without an index, each once.
pub fn seq_scans(plan: &[String], big: &HashMap<String, f64>) -> Vec<String> {
    let mut tables: Vec<String> = plan
        .iter()
        .filter_map(|line| line.split("Seq Scan on ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter_map(|table| {
            big.get(table)
                .map(|rows| format!("{table} (~{} rows)", thousands(*rows as u64)))
        })
        .collect();
    tables.sort();
    tables.dedup();
    tables
}

/// Prints each hot query's plan; returns the warnings (a big table read
/// without an index).
pub fn print_plans(
    auth: &mut PgConnection,
    profile: &mut PgConnection,
    probe: &Probe,
) -> QueryResult<Vec<String>> {
    let big_auth = big_tables(auth)?;
    let big_profile = big_tables(profile)?;
    let mut warnings = Vec::new();
    for hot in hot_queries(probe) {
        let (conn, big) = match hot.db {
            Db::Auth => (&mut *auth, &big_auth),
            Db::Profile => (&mut *profile, &big_profile),
        };
        let plan = explain(conn, &hot.sql, true)?;
        println!("\n#### {} — {}\n", hot.name, hot.used_by);
        println!("    {}", hot.sql);
        for line in &plan {
            println!("    | {line}");
        }
        for table in seq_scans(&plan, big) {
            let warning = format!(
                "WARNING: {} ({}) reads {table} without an index (Seq Scan)",
                hot.name, hot.used_by
            );
            println!("{warning}");
            warnings.push(warning);
        }
    }
    Ok(warnings)
}

#[derive(QueryableByName)]
struct Size {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    heap: i64,
    #[diesel(sql_type = BigInt)]
    indexes: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
    #[diesel(sql_type = Text)]
    index_list: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// `n` bytes in MiB.
pub fn mib(bytes: i64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1_048_576.0)
}

/// Prints rows and sizes of each table in `conn`'s database, biggest
/// first, with each index's size; returns the database's total bytes.
pub fn print_sizes(conn: &mut PgConnection, database: &str) -> QueryResult<i64> {
    let sizes: Vec<Size> = diesel::sql_query(
        "SELECT c.relname::text AS name, pg_relation_size(c.oid) AS heap, \
                pg_indexes_size(c.oid) AS indexes, pg_total_relation_size(c.oid) AS total, \
                coalesce((SELECT string_agg(i.relname || ' ' || \
                    pg_size_pretty(pg_relation_size(i.oid)), ', ' ORDER BY i.relname) \
                  FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
                  WHERE x.indrelid = c.oid), '') AS index_list \
         FROM pg_class c WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace \
           AND c.relname NOT LIKE '\\_\\_%' ORDER BY total DESC",
    )
    .load(conn)?;
    let mut sum = 0;
    for size in sizes {
        let count: Count =
            diesel::sql_query(format!("SELECT count(*) AS count FROM \"{}\"", size.name))
                .get_result(conn)?;
        sum += size.total;
        println!(
            "| {database} | {} | {} | {} | {} | {} | {} |",
            size.name,
            thousands(u64::try_from(count.count).unwrap_or(0)),
            mib(size.heap),
            mib(size.indexes),
            mib(size.total),
            size.index_list
        );
    }
    Ok(sum)
}
