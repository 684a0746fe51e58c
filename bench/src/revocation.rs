//! `bench revocation`: what revocation events cost and how fast they act.
//! The release binaries with events on (the auth service delivering to the
//! profile service's internal listener), and:
//!
//! - the delay from a logout's 204 to the first 401 of its access token at
//!   `GET /me`, over `BENCH_LOGOUTS` (1,000) logouts, one at a time;
//! - events a second delivered from a backlog of `BENCH_EVENT_BACKLOG`
//!   (2,000) logouts made while the profile service was down (its
//!   start-up included);
//! - `GET /me` requests a second with no revocation in the set and with
//!   `BENCH_REVOKED` (100,000) revoked sessions in it, beside the ceiling
//!   (JWT check only): the three servers run at once and `wrk` loads each
//!   in turn for `BENCH_ROUND_SECONDS` (3), `BENCH_ROUNDS` (10) times, so
//!   every ratio compares runs seconds apart; and the set's memory.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::ceiling::{self, Settings};
use crate::latency::quantile_ms;
use crate::phases;
use crate::procfs;
use crate::running::{Binary, Service};
use crate::services::Testbed;
use crate::wrk::{WrkReport, WrkRun};

const PASSWORD: &str = "correct horse battery staple";
/// `GET /me` with the revocations must reach this share of the ceiling.
const TARGET_SHARE: f64 = 0.9;
/// Its p99 must stay under this (issue 26).
const TARGET_P99_MS: f64 = 2.0;

/// `cargo run --release -p bench --bin bench -- revocation`.
pub async fn run() -> Result<(), String> {
    let settings = Settings::from_env();
    crate::wrk::check_installed()?;
    let logouts = crate::env_number("BENCH_LOGOUTS", 1000);
    let backlog = crate::env_number("BENCH_EVENT_BACKLOG", 2000);
    let revoked = crate::env_number("BENCH_REVOKED", 100_000);
    let testbed = Testbed::prepare().await?;
    testbed.describe();
    let port = free_port()?;
    let secret = shared::events::EventSecret::generate();
    let mut auth_env = phases::auth_env("4");
    auth_env.push(("EVENT_ENDPOINTS", format!("http://127.0.0.1:{port}/events")));
    auth_env.push(("EVENT_SECRET", secret.clone()));
    let mut profile_env = ceiling::profile_env(&settings, true);
    profile_env.push(("EVENT_SECRET", secret));
    profile_env.push(("INTERNAL_BIND_ADDR", format!("127.0.0.1:{port}")));
    println!("\n# Revocation events (BCRYPT_COST=4, cache on)\n");

    let auth = testbed.start(Binary::Auth, &auth_env).await?;
    let profile = testbed.start(Binary::Profile, &profile_env).await?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let mut delays = Vec::with_capacity(logouts);
    for _ in 0..logouts {
        delays.push(revoke_to_401(&client, &auth.url, &profile.url).await?);
    }
    delays.sort();
    println!("| phase | figure |\n| --- | --- |");
    println!(
        "| logout 204 → first 401 at `GET /me`, {logouts} logouts one at a time | p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms |",
        quantile_ms(&delays, 0.5),
        quantile_ms(&delays, 0.99),
        quantile_ms(&delays, 1.0)
    );

    // A backlog: the receiver down while `backlog` sessions end.
    profile.stop();
    let mut sessions = Vec::with_capacity(backlog);
    for _ in 0..backlog {
        sessions.push(new_session(&client, &auth.url).await?.1);
    }
    for refresh in &sessions {
        let response = client
            .post(format!("{}/logout", auth.url))
            .json(&serde_json::json!({"refresh_token": refresh}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status() != 204 {
            return Err(format!("logout answered {}", response.status()));
        }
    }
    let auth_db = testbed.database_url("auth", "bench-revocation");
    let started = Instant::now();
    let profile = testbed.start(Binary::Profile, &profile_env).await?;
    wait_empty(&auth_db, Duration::from_secs(600)).await?;
    let rate = backlog as f64 / started.elapsed().as_secs_f64();
    println!("| backlog of {backlog} events delivered (start-up included) | {rate:.0} events/s |");
    profile.stop();
    auth.stop();

    // GET /me: the ceiling and profile-service with none and with
    // `revoked` revocations in its set, all three running at once, each
    // loaded by wrk in turn, round after round (see `compare`).
    let auth = testbed.start(Binary::Auth, &auth_env).await?;
    phases::sign_up(&client, &auth.url).await?;
    let profile_db = testbed.database_url("profile", "bench-revocation");
    fill(&profile_db, 0).await?;
    // Two replicas at once: each its own internal listener (the auth
    // service delivers to the first; no event is sent from here on).
    let second_env = with_internal_port(&profile_env, free_port()?);
    let empty = testbed.start(Binary::Profile, &profile_env).await?;
    let session = phases::sign_in(&client, &auth.url, &empty.url).await?;
    // The set is read at start-up; `fill` notifies no running replica.
    fill(&profile_db, revoked).await?;
    let loaded = testbed.start(Binary::Profile, &second_env).await?;
    let ceiling = testbed.start(Binary::Ceiling, &[]).await?;
    let (empty_rss, loaded_rss) = (procfs::rss_kib(empty.pid()), procfs::rss_kib(loaded.pid()));
    let servers = [
        ("ceiling: JWT check only".to_owned(), &ceiling),
        (
            "profile-service, no revocation in the set".to_owned(),
            &empty,
        ),
        (
            format!("profile-service, {revoked} revoked sessions in the set"),
            &loaded,
        ),
    ];
    let rounds = compare(&servers, &session.access_token, &settings).await?;
    print_rounds(&servers, &rounds, settings.connections);
    let median_of = |f: &dyn Fn(&[WrkReport]) -> f64| {
        let mut values: Vec<f64> = rounds.iter().map(|round| f(round)).collect();
        values.sort_by(f64::total_cmp);
        values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let share = median_of(&|r| r[2].requests_per_sec / r[0].requests_per_sec);
    let cost = (1.0 - median_of(&|r| r[2].requests_per_sec / r[1].requests_per_sec)) * 100.0;
    let p99 = median_of(&|r| r[2].p99_ms);
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    println!(
        "\n- `GET /me` with {revoked} revocations against the ceiling, median of the rounds: {share:.2} (target ≥ {TARGET_SHARE}: {})",
        verdict(share >= TARGET_SHARE)
    );
    println!(
        "- its p99 at {} connections, median of the rounds: {p99:.2} ms (target < {TARGET_P99_MS} ms: {}); \
         the ceiling's {:.2} ms; its p99 ÷ the ceiling's, same round: {:.2}",
        settings.connections,
        verdict(p99 < TARGET_P99_MS),
        median_of(&|r| r[0].p99_ms),
        median_of(&|r| r[2].p99_ms / r[0].p99_ms)
    );
    println!(
        "- the revocation check's cost at {revoked} entries, median of the rounds: {cost:.1} % of the requests/s (target < 5 %: {})",
        verdict(cost < 5.0)
    );
    if let (Some(base), Some(full)) = (empty_rss, loaded_rss) {
        let per = (full.saturating_sub(base)) as f64 / 1024.0 * 100_000.0 / (revoked.max(1) as f64);
        println!(
            "- memory at idle: {:.1} MiB with none, {:.1} MiB with {revoked}: about {per:.1} MiB per 100,000 entries",
            base as f64 / 1024.0,
            full as f64 / 1024.0
        );
    }
    for server in [ceiling, empty, loaded, auth] {
        server.stop();
    }
    testbed.finish();
    Ok(())
}

/// A port nobody listens on now.
fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| e.to_string())
}

/// `env` with `INTERNAL_BIND_ADDR` on `port`.
fn with_internal_port(env: &[(&'static str, String)], port: u16) -> Vec<(&'static str, String)> {
    env.iter()
        .filter(|(name, _)| *name != "INTERNAL_BIND_ADDR")
        .cloned()
        .chain([("INTERNAL_BIND_ADDR", format!("127.0.0.1:{port}"))])
        .collect()
}

/// `BENCH_ROUNDS` (10) rounds, each loading every server in turn with
/// `wrk` for `BENCH_ROUND_SECONDS` (3), after one warm-up run each: a
/// ratio of two servers in one round compares runs seconds apart, which
/// on a shared, noisy machine is the only comparison that holds.
async fn compare(
    servers: &[(String, &Service)],
    bearer: &str,
    settings: &Settings,
) -> Result<Vec<Vec<WrkReport>>, String> {
    let rounds = crate::env_number("BENCH_ROUNDS", 10).max(1);
    let length = crate::env_seconds("BENCH_ROUND_SECONDS", 3.0);
    let run = |server: &Service, duration: Duration| WrkRun {
        url: format!("{}/me", server.url),
        bearer: bearer.to_owned(),
        connections: settings.connections,
        duration,
    };
    for (_, server) in servers {
        run(server, settings.warmup.max(Duration::from_secs(1)))
            .run()
            .await?;
    }
    let mut all = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let mut round = Vec::with_capacity(servers.len());
        for (_, server) in servers {
            round.push(run(server, length).run().await?);
        }
        all.push(round);
    }
    Ok(all)
}

/// Each server's range over the rounds and its median ratio to the first
/// (the ceiling) in the same round.
fn print_rounds(servers: &[(String, &Service)], rounds: &[Vec<WrkReport>], connections: usize) {
    println!(
        "\n| `GET /me`, cache on, {connections} connections, {} rounds | requests/s (range) | p99 (range) | × ceiling, same round: median (range) |\n| --- | --- | --- | --- |",
        rounds.len()
    );
    for (at, (name, _)) in servers.iter().enumerate() {
        let range = |f: &dyn Fn(&WrkReport) -> f64| {
            let values: Vec<f64> = rounds.iter().map(|round| f(&round[at])).collect();
            let low = values.iter().copied().fold(f64::INFINITY, f64::min);
            let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (low, high)
        };
        let (rate_low, rate_high) = range(&|r| r.requests_per_sec);
        let (p99_low, p99_high) = range(&|r| r.p99_ms);
        let mut ratios: Vec<f64> = rounds
            .iter()
            .map(|round| round[at].requests_per_sec / round[0].requests_per_sec)
            .collect();
        ratios.sort_by(f64::total_cmp);
        let median = ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN);
        let (low, high) = (ratios[0], ratios[ratios.len() - 1]);
        println!(
            "| {name} | {rate_low:.0}–{rate_high:.0} | {p99_low:.2}–{p99_high:.2} ms | {median:.2} ({low:.2}–{high:.2}) |"
        );
    }
}

/// Signs up and logs in a fresh user: (access token, refresh token).
async fn new_session(client: &reqwest::Client, auth: &str) -> Result<(String, String), String> {
    let email = format!("revoke-{}@example.com", uuid::Uuid::new_v4().simple());
    client
        .post(format!("{auth}/signup"))
        .json(&serde_json::json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let tokens = crate::phases::log_in(client, auth, &email).await?;
    let get = |name: &str| {
        tokens[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("the login gave no {name}: {tokens}"))
    };
    Ok((get("access_token")?, get("refresh_token")?))
}

/// One logout, then `GET /me` with its access token until the 401: the
/// time from the logout's answer to the 401.
async fn revoke_to_401(
    client: &reqwest::Client,
    auth: &str,
    profile: &str,
) -> Result<Duration, String> {
    let (access, refresh) = new_session(client, auth).await?;
    let me = || {
        client
            .get(format!("{profile}/me"))
            .bearer_auth(&access)
            .send()
    };
    let status = me().await.map_err(|e| e.to_string())?.status();
    if status != 200 {
        return Err(format!("GET /me before the logout answered {status}"));
    }
    let response = client
        .post(format!("{auth}/logout"))
        .json(&serde_json::json!({"refresh_token": refresh}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let answered = Instant::now();
    if response.status() != 204 {
        return Err(format!("logout answered {}", response.status()));
    }
    loop {
        let status = me().await.map_err(|e| e.to_string())?.status();
        if status == 401 {
            return Ok(answered.elapsed());
        }
        if answered.elapsed() > Duration::from_secs(10) {
            return Err("a logged-out token was still accepted after 10 s".into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Waits until the auth database's event outbox is empty.
async fn wait_empty(url: &str, limit: Duration) -> Result<(), String> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = PgConnection::establish(&url).map_err(|e| e.to_string())?;
        let started = Instant::now();
        loop {
            let pending: i64 =
                diesel::dsl::sql::<diesel::sql_types::BigInt>("SELECT count(*) FROM event_outbox")
                    .get_result(&mut conn)
                    .map_err(|e| e.to_string())?;
            if pending == 0 {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(format!("{pending} events still pending after {limit:?}"));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Leaves exactly `count` revoked sessions (random ids, an hour to live)
/// in the profile database, and no revoked users.
async fn fill(url: &str, count: usize) -> Result<(), String> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = PgConnection::establish(&url).map_err(|e| e.to_string())?;
        diesel::sql_query("TRUNCATE revoked_sessions, revoked_users")
            .execute(&mut conn)
            .map_err(|e| e.to_string())?;
        diesel::sql_query(format!(
            "INSERT INTO revoked_sessions (session_id, expires_at) \
             SELECT gen_random_uuid(), now() + interval '1 hour' FROM generate_series(1, {count})"
        ))
        .execute(&mut conn)
        .map_err(|e| e.to_string())
        .map(drop)
    })
    .await
    .map_err(|e| e.to_string())?
}
