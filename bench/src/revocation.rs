//! `bench revocation`: what revocation events cost and how fast they act.
//! The release binaries with events on (the auth service delivering to the
//! profile service's internal listener), and:
//!
//! - the delay from a logout's 204 to the first 401 of its access token at
//!   `GET /me`, over `BENCH_LOGOUTS` (1,000) logouts, one at a time;
//! - events a second delivered from a backlog of `BENCH_EVENT_BACKLOG`
//!   (2,000) logouts made while the profile service was down (its
//!   start-up included);
//! - `GET /me` requests a second with no revocation in the set against
//!   `BENCH_REVOKED` (100,000) revoked sessions in it, beside the ceiling
//!   (JWT check only), in the same run, and the set's memory.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::ceiling::{self, Settings};
use crate::footprint::Footprint;
use crate::latency::quantile_ms;
use crate::phases;
use crate::procfs;
use crate::running::Binary;
use crate::services::Testbed;
use crate::wrk::WrkRun;

const PASSWORD: &str = "correct horse battery staple";

/// `cargo run --release -p bench --bin bench -- revocation`.
pub async fn run() -> Result<(), String> {
    let settings = Settings::from_env();
    crate::wrk::check_installed()?;
    let logouts = crate::env_number("BENCH_LOGOUTS", 1000);
    let backlog = crate::env_number("BENCH_EVENT_BACKLOG", 2000);
    let revoked = crate::env_number("BENCH_REVOKED", 100_000);
    let testbed = Testbed::prepare().await?;
    testbed.describe();
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|e| e.to_string())?
        .port();
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

    // GET /me: ceiling, no revocations, `revoked` revocations.
    let auth = testbed.start(Binary::Auth, &auth_env).await?;
    phases::sign_up(&client, &auth.url).await?;
    let profile_db = testbed.database_url("profile", "bench-revocation");
    fill(&profile_db, 0).await?;
    let profile = testbed.start(Binary::Profile, &profile_env).await?;
    let session = phases::sign_in(&client, &auth.url, &profile.url).await?;
    profile.stop();
    let measure = WrkRun {
        url: String::new(),
        bearer: session.access_token.clone(),
        connections: settings.connections,
        duration: settings.seconds,
    };
    let mut footprint = Footprint::default();
    let ceiling = testbed.start(Binary::Ceiling, &[]).await?;
    let top = ceiling::hammer(&ceiling, &measure, &settings, &mut footprint, "ceiling")
        .await?
        .requests_per_sec;
    ceiling.stop();
    let mut rows = Vec::new();
    for count in [0, revoked] {
        fill(&profile_db, count).await?;
        let profile = testbed.start(Binary::Profile, &profile_env).await?;
        let rss = procfs::rss_kib(profile.pid());
        let rate = ceiling::hammer(&profile, &measure, &settings, &mut footprint, "GET /me")
            .await?
            .requests_per_sec;
        rows.push((count, rate, rss));
        profile.stop();
    }
    auth.stop();
    println!(
        "\n| `GET /me` (cache on, {} connections, wrk) | requests/s | × ceiling |\n| --- | --- | --- |",
        settings.connections
    );
    println!("| ceiling: JWT check only | {top:.0} | 1.00 |");
    for (count, rate, _) in &rows {
        println!(
            "| profile-service, {count} revoked sessions in the set | {rate:.0} | {:.2} |",
            rate / top
        );
    }
    if let [(_, base, base_rss), (count, loaded, loaded_rss)] = rows[..] {
        let cost = (1.0 - loaded / base) * 100.0;
        let verdict = if cost < 5.0 { "met" } else { "MISSED" };
        println!(
            "\n- the revocation check's cost at {count} entries: {cost:.1} % of the requests/s (target < 5 %: {verdict})"
        );
        if let (Some(base), Some(loaded)) = (base_rss, loaded_rss) {
            let per =
                (loaded.saturating_sub(base)) as f64 / 1024.0 * 100_000.0 / (count.max(1) as f64);
            println!(
                "- memory at idle: {:.1} MiB with none, {:.1} MiB with {count}: about {per:.1} MiB per 100,000 entries",
                base as f64 / 1024.0,
                loaded as f64 / 1024.0
            );
        }
    }
    testbed.finish();
    Ok(())
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
