//! `bench refresh`: refresh rotation against PostgreSQL's own bound. At
//! 4, 16 and 64 sessions (`BENCH_REFRESH_SESSIONS`), each refreshed in a
//! closed loop on a connection of its own by `wrk` (`bench/refresh.lua`:
//! `POST /refresh`, the new token each time) for `BENCH_SECONDS`, a C
//! client like pgbench, so the generator takes little of the two cores
//! from the service and PostgreSQL; then `pgbench` runs the statements one
//! refresh makes (`bench/refresh_rotation.sql`, copied from the service's
//! statement log) with as many clients, on the same database of the same
//! server. The service's refreshes/s over pgbench's transactions/s is the
//! share of the database's bound the service reaches (target ≥ 0.8).
//! `BENCH_PGBENCH_PROTOCOL=extended` makes pgbench plan each statement
//! anew, to show what an unprepared statement costs the database.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::phases;
use crate::running::Binary;
use crate::services::Testbed;
use crate::wrk::WrkReport;
use diesel::{Connection, PgConnection, RunQueryDsl};

/// One refresh's statements, for `pgbench -f`.
const SCRIPT: &str = include_str!("../refresh_rotation.sql");
/// The refresh loop, for `wrk -s`.
const LOOP: &str = include_str!("../refresh.lua");
/// The service must reach this share of pgbench's rate.
const TARGET: f64 = 0.8;

/// `cargo run --release -p bench --bin bench -- refresh`.
pub async fn run() -> Result<(), String> {
    let seconds = crate::env_seconds("BENCH_SECONDS", 10.0);
    let levels: Vec<usize> = std::env::var("BENCH_REFRESH_SESSIONS")
        .unwrap_or_else(|_| "4,16,64".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let pgbench = pgbench_path()?;
    crate::wrk::check_installed()?;
    let testbed = Testbed::prepare().await?;
    println!(
        "# Refresh rotation against PostgreSQL's bound ({} cores)\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    testbed.describe();
    let script = testbed.logs.join("refresh_rotation.sql");
    std::fs::write(&script, SCRIPT).map_err(|e| format!("{}: {e}", script.display()))?;
    let driver = testbed.logs.join("refresh.lua");
    std::fs::write(&driver, LOOP).map_err(|e| format!("{}: {e}", driver.display()))?;
    let auth = testbed.start(Binary::Auth, &phases::auth_env("4")).await?;
    // The service closes a connection idle for 5 s (while pgbench runs):
    // never reuse one that old.
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| e.to_string())?;
    phases::sign_up(&client, &auth.url).await?;
    let url = testbed.database_url("auth", "pgbench");
    let user = bench_user(&url).await?;
    println!(
        "- service: `wrk -t1 -c<sessions> -d{:.0}s --latency -s bench/refresh.lua` (`POST /refresh` \
         in a closed loop per session, each on its own connection, the new token each time), after \
         a 1 s warm-up on other sessions; the per-client limit on (every request comes from \
         127.0.0.1), BCRYPT_COST=4",
        seconds.as_secs_f64()
    );
    println!(
        "- PostgreSQL: `{} -n -M {} -c <sessions> -j 2 -T {:.0} -f bench/refresh_rotation.sql`, \
         its own session per client, on the same `auth` database",
        pgbench.display(),
        protocol(),
        seconds.as_secs_f64()
    );
    println!(
        "\n| sessions | service refreshes/s | p50 | p99 | pgbench transactions/s | pgbench latency | service ÷ pgbench |\n\
         | --- | --- | --- | --- | --- | --- | --- |"
    );
    for (run, &sessions) in levels.iter().enumerate() {
        let warm_up = open_sessions(&client, &auth.url, sessions).await?;
        refresh_loop(&auth.url, &driver, warm_up, Duration::from_secs(1)).await?;
        let tokens = open_sessions(&client, &auth.url, sessions).await?;
        let service = refresh_loop(&auth.url, &driver, tokens, seconds).await?;
        prepare_pgbench(&url, user, run, sessions).await?;
        let bound = run_pgbench(&pgbench, &script, &url, run, sessions, user, seconds)?;
        let rate = service.requests_per_sec;
        let share = rate / bound.tps;
        let verdict = if share >= TARGET { "met" } else { "MISSED" };
        println!(
            "| {sessions} | {rate:.0} | {:.2} ms | {:.2} ms | {:.0} | {:.2} ms | {share:.2} (≥ {TARGET}: {verdict}) |",
            service.p50_ms, service.p99_ms, bound.tps, bound.latency_ms
        );
    }
    auth.stop();
    testbed.finish();
    Ok(())
}

/// `pgbench` on `PATH`, else in the newest `/usr/lib/postgresql/*/bin`.
fn pgbench_path() -> Result<PathBuf, String> {
    if Command::new("pgbench").arg("--version").output().is_ok() {
        return Ok(PathBuf::from("pgbench"));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| "pgbench is not installed (Debian: postgresql-client)".to_owned())?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin/pgbench")))
        .filter(|path| path.is_file())
        .collect();
    found.sort();
    found
        .pop()
        .ok_or_else(|| "pgbench is not installed (Debian: postgresql-client)".into())
}

/// The benchmark user's id.
async fn bench_user(url: &str) -> Result<uuid::Uuid, String> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
    }
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = PgConnection::establish(&url).map_err(|e| e.to_string())?;
        diesel::sql_query("SELECT id FROM users WHERE email = $1")
            .bind::<diesel::sql_types::Text, _>(phases::EMAIL)
            .get_result::<Id>(&mut conn)
            .map(|row| row.id)
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// `count` fresh sessions of the benchmark user: their refresh tokens.
async fn open_sessions(
    client: &reqwest::Client,
    auth: &str,
    count: usize,
) -> Result<Vec<String>, String> {
    let mut tokens = Vec::with_capacity(count);
    for _ in 0..count {
        let reply = phases::log_in(client, auth, phases::EMAIL).await?;
        let token = reply["refresh_token"]
            .as_str()
            .ok_or_else(|| format!("the login gave no refresh token: {reply}"))?;
        tokens.push(token.to_owned());
    }
    Ok(tokens)
}

/// Each session refreshed in a loop of its own for `length` by `wrk`
/// running `driver` (`bench/refresh.lua`) with the sessions' refresh
/// tokens. A refused refresh (a token lost) fails the run.
async fn refresh_loop(
    auth: &str,
    driver: &Path,
    tokens: Vec<String>,
    length: Duration,
) -> Result<WrkReport, String> {
    let mut extra = vec![
        "-s".to_owned(),
        driver.display().to_string(),
        "--".to_owned(),
    ];
    let connections = tokens.len();
    extra.extend(tokens);
    crate::wrk::run(&format!("{auth}/refresh"), connections, length, extra).await
}

/// `sessions` sessions of `user` for pgbench's clients of run `run`,
/// each with its first refresh token (ids as the script derives them).
async fn prepare_pgbench(
    url: &str,
    user: uuid::Uuid,
    run: usize,
    sessions: usize,
) -> Result<(), String> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = PgConnection::establish(&url).map_err(|e| e.to_string())?;
        let statements = [
            format!(
                "INSERT INTO sessions (id, user_id, expires_at, ip) \
                 SELECT md5('s:{run}:' || c)::uuid, '{user}', now() + interval '7 days', '127.0.0.1' \
                 FROM generate_series(0, {last}) AS c",
                last = sessions - 1
            ),
            format!(
                "INSERT INTO refresh_tokens (id, session_id, token_hash, issued_at, expires_at) \
                 SELECT md5('t:{run}:' || c || ':0')::uuid, md5('s:{run}:' || c)::uuid, \
                        sha256(c::text::bytea), now(), now() + interval '7 days' \
                 FROM generate_series(0, {last}) AS c",
                last = sessions - 1
            ),
        ];
        for sql in statements {
            diesel::sql_query(&sql)
                .execute(&mut conn)
                .map_err(|e| format!("{sql}: {e}"))?;
        }
        Ok(())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// pgbench's `-M`: `BENCH_PGBENCH_PROTOCOL=extended` plans every statement
/// anew, as PostgreSQL does for a statement a client does not prepare;
/// anything else is `prepared` (`simple` would paste the script's
/// variables into the SQL unquoted).
fn protocol() -> &'static str {
    match std::env::var("BENCH_PGBENCH_PROTOCOL").as_deref() {
        Ok("extended") => "extended",
        _ => "prepared",
    }
}

/// What pgbench reported.
struct Bound {
    tps: f64,
    latency_ms: f64,
}

fn run_pgbench(
    pgbench: &Path,
    script: &Path,
    url: &str,
    run: usize,
    sessions: usize,
    user: uuid::Uuid,
    length: Duration,
) -> Result<Bound, String> {
    let output = Command::new(pgbench)
        .args(["-n", "-M", protocol()])
        .arg(format!("-c{sessions}"))
        .arg(format!("-j{}", sessions.min(2)))
        .arg(format!("-T{}", length.as_secs().max(1)))
        .args(["-D", &format!("run={run}")])
        .args(["-D", "round=0"])
        .args(["-D", &format!("user={user}")])
        .arg("-f")
        .arg(script)
        .arg(url)
        .output()
        .map_err(|e| format!("cannot run pgbench: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "pgbench failed: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let number = |prefix: &str| {
        text.lines()
            .find(|line| line.starts_with(prefix))
            .and_then(|line| line[prefix.len()..].split_whitespace().next())
            .and_then(|value| value.parse::<f64>().ok())
    };
    match (number("tps = "), number("latency average = ")) {
        (Some(tps), Some(latency_ms)) => Ok(Bound { tps, latency_ms }),
        _ => Err(format!("cannot read pgbench's report:\n{text}")),
    }
}
