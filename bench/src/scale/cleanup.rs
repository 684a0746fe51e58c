//! What clean-up costs at scale. The services have no clean-up job: each
//! login deletes up to 100 sessions that expired more than a day ago
//! (their tokens go with them, `ON DELETE CASCADE`) and up to 100 back-off
//! counters quiet for a day; each login, signup and refresh up to 100
//! expired known networks; a timer empties drained `rate_limits` rows
//! every minute. So in steady state nothing piles up, and the cost is
//! paid by logins after a quiet spell. This loads such a backlog, shows
//! one pass's plan, measures logins while they drain it, times passes of
//! each sweep, and what one `DELETE` of the whole backlog and the
//! `VACUUM` after it would cost instead.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::load::load_backlog;
use super::plans::{
    SWEEP_ACCOUNTS, SWEEP_FAILURES, SWEEP_NETWORKS, SWEEP_SESSIONS, big_tables, explain, mib,
    seq_scans,
};
use super::traffic::{Figures, Target, thousands};
use super::{Shared, blocking, connect};

const ELIGIBLE_SESSIONS: &str = "expires_at < now() - interval '1 day'";

/// The one-statement versions of the sweeps: (table, condition).
const ONE_SHOT: [(&str, &str); 4] = [
    ("sessions", ELIGIBLE_SESSIONS),
    ("known_networks", "expires_at < now()"),
    (
        "login_failures",
        "updated_at < now() - interval '1 day' \
         AND (locked_until IS NULL OR locked_until < now() - interval '1 day')",
    ),
    (
        "login_account_failures",
        "window_start < now() - interval '1 day'",
    ),
];

/// Each sweep as the services run it (with an `ORDER BY` on the indexed
/// column, which makes the plan walk that index from the oldest row
/// whatever the statistics say), and as it ran before, without: then
/// PostgreSQL plans a sequential scan once many rows qualify.
const PASSES: [(&str, &str, &str); 4] = [
    (
        "sessions (+ their tokens), per login",
        SWEEP_SESSIONS,
        "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions \
         WHERE expires_at < now() - interval '1 day' LIMIT 100 FOR UPDATE SKIP LOCKED)",
    ),
    (
        "known_networks, per login/signup/refresh",
        SWEEP_NETWORKS,
        "DELETE FROM known_networks WHERE (user_id, network_hash) IN \
         (SELECT user_id, network_hash FROM known_networks WHERE expires_at < now() \
         LIMIT 100 FOR UPDATE SKIP LOCKED)",
    ),
    (
        "login_failures, per login",
        SWEEP_FAILURES,
        "DELETE FROM login_failures WHERE (email, network) IN \
         (SELECT email, network FROM login_failures WHERE updated_at < now() - interval '1 day' \
         AND (locked_until IS NULL OR locked_until < now() - interval '1 day') \
         LIMIT 100 FOR UPDATE SKIP LOCKED)",
    ),
    (
        "login_account_failures, per login",
        SWEEP_ACCOUNTS,
        "DELETE FROM login_account_failures WHERE email IN \
         (SELECT email FROM login_account_failures WHERE window_start < now() - interval '1 day' \
         LIMIT 100 FOR UPDATE SKIP LOCKED)",
    ),
];

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

fn count(conn: &mut PgConnection, sql: &str) -> Result<u64, String> {
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .map(|c| u64::try_from(c.count).unwrap_or(0))
        .map_err(|e| format!("{sql}: {e}"))
}

fn backlog_counts(conn: &mut PgConnection) -> Result<Vec<(String, u64, u64)>, String> {
    let mut counts = Vec::new();
    for (table, condition) in ONE_SHOT {
        let eligible = count(
            conn,
            &format!("SELECT count(*) AS count FROM {table} WHERE {condition}"),
        )?;
        let all = count(conn, &format!("SELECT count(*) AS count FROM {table}"))?;
        counts.push((table.to_owned(), eligible, all));
    }
    let tokens = count(
        conn,
        &format!(
            "SELECT count(*) AS count FROM refresh_tokens t JOIN sessions s \
             ON s.id = t.session_id WHERE s.{ELIGIBLE_SESSIONS}"
        ),
    )?;
    let all = count(conn, "SELECT count(*) AS count FROM refresh_tokens")?;
    counts.insert(
        1,
        ("refresh_tokens (of those sessions)".into(), tokens, all),
    );
    Ok(counts)
}

fn print_plan(title: &str, plan: &[String], big: &HashMap<String, f64>) {
    println!("\n{title}\n");
    for line in plan {
        println!("    | {line}");
    }
    for table in seq_scans(plan, big) {
        println!("WARNING: this sweep reads {table} without an index (Seq Scan)");
    }
}

/// One pass: rows deleted and how long it took.
fn pass(conn: &mut PgConnection, sql: &str) -> Result<(usize, Duration), String> {
    let started = Instant::now();
    let rows = diesel::sql_query(sql)
        .execute(conn)
        .map_err(|e| format!("{sql}: {e}"))?;
    Ok((rows, started.elapsed()))
}

/// `passes` committed runs of each sweep, as the services run it and
/// without its `ORDER BY`, taking turns: per sweep, "rows, p50, max" of each.
fn time_passes(conn: &mut PgConnection, passes: usize) -> Result<Vec<[String; 2]>, String> {
    let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    let describe = |runs: &[(usize, Duration)]| {
        let mut times: Vec<Duration> = runs.iter().map(|(_, t)| *t).collect();
        times.sort();
        let rows = runs.iter().map(|(r, _)| r).sum::<usize>() / runs.len().max(1);
        format!(
            "{rows} rows, p50 {:.1} ms, max {:.1} ms",
            ms(times.get(times.len() / 2)),
            ms(times.last())
        )
    };
    let mut cells = Vec::new();
    for (_, as_run, unordered) in PASSES {
        let (mut current, mut before) = (Vec::new(), Vec::new());
        for _ in 0..passes {
            current.push(pass(conn, as_run)?);
            before.push(pass(conn, unordered)?);
        }
        cells.push([describe(&current), describe(&before)]);
    }
    Ok(cells)
}

fn print_passes(title: &str, cells: &[[String; 2]]) {
    println!("\n| {title} | as the services run it | without ORDER BY (before) |");
    println!("| --- | --- | --- |");
    for ((name, _, _), [current, before]) in PASSES.iter().zip(cells) {
        println!("| {name} | {current} | {before} |");
    }
}

/// Times passes while backlog is left, deletes the rest in one statement
/// per table, times passes again (nothing left, statistics still saying
/// there is), then `VACUUM (ANALYZE)` and passes once more.
fn drain_rest(conn: &mut PgConnection) -> Result<(), String> {
    print_passes(
        "sweep pass, 20 of each, backlog left",
        &time_passes(conn, 20)?,
    );
    println!("\n| one DELETE of what is left | rows | time |");
    println!("| --- | --- | --- |");
    for (table, condition) in ONE_SHOT {
        let started = Instant::now();
        let rows = diesel::sql_query(format!("DELETE FROM {table} WHERE {condition}"))
            .execute(conn)
            .map_err(|e| e.to_string())?;
        println!(
            "| DELETE FROM {table} WHERE {condition} | {} | {:.2} s |",
            thousands(rows as u64),
            started.elapsed().as_secs_f64()
        );
    }
    print_passes(
        "sweep pass, 5 of each, backlog gone, before ANALYZE",
        &time_passes(conn, 5)?,
    );
    let size = count(
        conn,
        "SELECT pg_total_relation_size('refresh_tokens') AS count",
    )?;
    let started = Instant::now();
    diesel::sql_query(
        "VACUUM (ANALYZE) sessions, refresh_tokens, known_networks, login_failures, \
         login_account_failures",
    )
    .execute(conn)
    .map_err(|e| e.to_string())?;
    println!(
        "\nVACUUM (ANALYZE) of the five tables: {:.2} s (it frees the space for reuse inside \
         the files; refresh_tokens stays {}).",
        started.elapsed().as_secs_f64(),
        mib(i64::try_from(size).unwrap_or(0))
    );
    print_passes(
        "sweep pass, 5 of each, after VACUUM (ANALYZE)",
        &time_passes(conn, 5)?,
    );
    Ok(())
}

/// Loads a backlog of `sessions` long-expired sessions (and the other
/// tables' share), then measures what clearing it costs.
pub async fn run(
    shared: &Shared,
    target: &Target,
    sessions: u64,
    logins: &[String],
    steady: &Figures,
) -> Result<(), String> {
    let users = shared.rows;
    println!(
        "\n## Clean-up at {} users\n\nThe services run no clean-up job. Each login deletes \
         up to 100 sessions expired more than a day ago (their refresh tokens go by ON DELETE \
         CASCADE) and up to 100 back-off counters quiet for a day; each login, signup and \
         refresh up to 100 expired known networks; every minute a timer deletes drained \
         rate_limits rows. In steady state nothing piles up; after a quiet spell (or an \
         upgrade from a version without the sweeps) the next logins pay for it. The backlog \
         below: {} sessions that expired 1-7 days ago with their tokens, half as many \
         expired known networks, back-off counters quiet for over a day; COPY appends them, \
         so they sit at the end of each table's heap (the worst case for a sequential scan).",
        thousands(users),
        thousands(sessions)
    );
    let started = Instant::now();
    let (model, urls) = (shared.model.clone(), shared.urls.clone());
    let rebuilt = blocking(move || load_backlog(&model, &urls, sessions, users)).await?;
    let loaded = started.elapsed();
    let auth = shared.urls.auth.clone();
    let (counts, big, plans) = blocking(move || {
        let mut conn = connect(&auth)?;
        diesel::sql_query("ANALYZE")
            .execute(&mut conn)
            .map_err(|e| e.to_string())?;
        let counts = backlog_counts(&mut conn)?;
        let big = big_tables(&mut conn).map_err(|e| e.to_string())?;
        let mut plans = Vec::new();
        let one_shot = format!("DELETE FROM sessions WHERE {ELIGIBLE_SESSIONS}");
        let statements = PASSES
            .iter()
            .map(|(name, as_run, _)| (format!("One pass of the {name} sweep"), *as_run))
            .chain([
                (
                    "The session sweep without ORDER BY (as it ran before)".to_owned(),
                    PASSES[0].2,
                ),
                (
                    "One DELETE of the whole session backlog instead".to_owned(),
                    one_shot.as_str(),
                ),
            ]);
        for (title, sql) in statements {
            let plan = explain(&mut conn, sql, true).map_err(|e| e.to_string())?;
            plans.push((format!("{title} (EXPLAIN ANALYZE, rolled back):"), plan));
        }
        Ok((counts, big, plans))
    })
    .await?;
    println!(
        "\nBacklog loaded with COPY in {:.1} s (of which {:.1} s rebuilding the secondary \
         indexes):\n",
        loaded.as_secs_f64(),
        rebuilt.as_secs_f64()
    );
    println!("| table | eligible for the sweep | rows in the table |");
    println!("| --- | --- | --- |");
    for (table, eligible, all) in &counts {
        println!(
            "| {table} | {} | {} |",
            thousands(*eligible),
            thousands(*all)
        );
    }
    for (title, plan) in &plans {
        print_plan(title, plan, &big);
    }

    let draining = target.logins(logins).await?;
    let left = {
        let auth = shared.urls.auth.clone();
        blocking(move || {
            let mut conn = connect(&auth)?;
            count(
                &mut conn,
                &format!("SELECT count(*) AS count FROM sessions WHERE {ELIGIBLE_SESSIONS}"),
            )
        })
        .await?
    };
    println!(
        "\nLogins while they drain the backlog ({} logins, each sweeping up to 100 \
         sessions): {}; logins at this size without a backlog (above): {}. {} backlog sessions left.",
        thousands(logins.len() as u64),
        draining.summary(),
        steady.summary(),
        thousands(left)
    );

    let auth = shared.urls.auth.clone();
    blocking(move || drain_rest(&mut connect(&auth)?)).await
}
