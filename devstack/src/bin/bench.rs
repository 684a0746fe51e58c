//! `cargo run --release -p devstack --bin bench`: the figures in the README.
//! Starts both services in this process on free ports against a throwaway
//! PostgreSQL and measures, over loopback HTTP:
//! - password logins per second at `BCRYPT_COST` (default 12);
//! - `/healthz` latency idle and during a login storm (bcrypt must not
//!   stall the async workers);
//! - `GET /me` requests per second (local JWT check + upsert + select);
//! - a storm of 300 simultaneous logins through the hashing gate: how many
//!   get in, how fast the rest are shed, and `/healthz` and `GET /me`
//!   during it;
//! - what the PostgreSQL-backed per-client limit costs a request.
//!
//! The load generator shares the machine (and this process) with the
//! services, so the figures are a floor, not a capacity plan.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use devstack::stack::{StackOptions, start};
use futures::StreamExt;
use futures::stream;
use shared::config::random_secret;

const PASSWORD: &str = "correct horse battery staple";

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// p50, p95, p99 and max of `samples`, in milliseconds.
fn percentiles(samples: &mut [Duration]) -> String {
    samples.sort();
    let at = |q: f64| {
        let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples.get(index).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    format!(
        "p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        at(0.50),
        at(0.95),
        at(0.99),
        at(1.0)
    )
}

/// Runs `count` requests made by `make`, `concurrency` at a time; returns
/// the wall time and each request's (status, latency).
async fn load_any<F, Fut>(
    count: usize,
    concurrency: usize,
    make: F,
) -> Result<(Duration, Vec<(u16, Duration)>), String>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<reqwest::Response, reqwest::Error>>,
{
    let started = Instant::now();
    let replies: Vec<Result<(u16, Duration), String>> = stream::iter(0..count)
        .map(|i| {
            let request = make(i);
            async move {
                let sent = Instant::now();
                let response = request.await.map_err(|e| e.to_string())?;
                let status = response.status().as_u16();
                let _ = response.bytes().await;
                Ok((status, sent.elapsed()))
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let replies = replies.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok((started.elapsed(), replies))
}

/// Runs `count` requests made by `make`, `concurrency` at a time; returns
/// the wall time and each request's latency. Any non-success fails.
async fn load<F, Fut>(
    count: usize,
    concurrency: usize,
    make: F,
) -> Result<(Duration, Vec<Duration>), String>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<reqwest::Response, reqwest::Error>>,
{
    let started = Instant::now();
    let latencies: Vec<Result<Duration, String>> = stream::iter(0..count)
        .map(|i| {
            let request = make(i);
            async move {
                let sent = Instant::now();
                let response = request.await.map_err(|e| e.to_string())?;
                if !response.status().is_success() {
                    return Err(format!("status {}", response.status()));
                }
                Ok(sent.elapsed())
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let latencies = latencies.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok((started.elapsed(), latencies))
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

async fn run() -> Result<(), String> {
    let cost = std::env::var("BCRYPT_COST").unwrap_or_else(|_| "12".into());
    let logins = env_number("BENCH_LOGINS", 40);
    let me_requests = env_number("BENCH_ME_REQUESTS", 4000);
    let stack = start(StackOptions {
        secrets_given: false,
        auth_bind: "127.0.0.1:0".into(),
        profile_bind: "127.0.0.1:0".into(),
        access_secret: random_secret(),
        refresh_secret: random_secret(),
        extra: vec![
            ("BCRYPT_COST".into(), cost.clone()),
            // High enough never to refuse, so the limiter's cost shows.
            ("RATE_LIMIT_PER_MINUTE".into(), "1000000".into()),
            ("LOGIN_FAILURE_LIMIT".into(), "0".into()),
            ("METRICS_BIND_ADDR".into(), String::new()),
        ],
    })
    .await
    .map_err(|e| e.to_string())?;
    let auth = format!("http://127.0.0.1:{}", stack.auth.port());
    let profile = format!("http://127.0.0.1:{}", stack.profile.port());
    actix_web::rt::spawn(stack.auth.run_until_stopped());
    actix_web::rt::spawn(stack.profile.run_until_stopped());
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;

    let email = "bench@example.com";
    let signup = serde_json::json!({"email": email, "password": PASSWORD});
    client
        .post(format!("{auth}/signup"))
        .json(&signup)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let login = || {
        client
            .post(format!("{auth}/login"))
            .form(&[("username", email), ("password", PASSWORD)])
            .send()
    };

    println!(
        "# auth-stack benchmark (BCRYPT_COST={cost}, {} cores)\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let (wall, mut latencies) = load(logins, 8, |_| login()).await?;
    println!(
        "- password logins: {logins} in {:.1} s = {:.1} logins/s, 8 at a time; {}",
        wall.as_secs_f64(),
        logins as f64 / wall.as_secs_f64(),
        percentiles(&mut latencies)
    );

    let healthz = |_| client.get(format!("{auth}/healthz")).send();
    let (_, mut idle) = load(500, 1, healthz).await?;
    println!("- /healthz idle, one at a time: {}", percentiles(&mut idle));
    let storm = load_any(logins, 16, |_| login());
    let probe = async {
        let mut samples = Vec::new();
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            let (_, latency) = load(1, 1, healthz).await?;
            samples.extend(latency);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok::<_, String>(samples)
    };
    let (storm, probe) = tokio::join!(storm, probe);
    let (_, replies) = storm?;
    let shed = replies.iter().filter(|(status, _)| *status == 503).count();
    let mut during = probe?;
    println!(
        "- /healthz during a storm of {logins} logins, 16 at a time ({shed} shed by the hashing gate): {} ({} probes)",
        percentiles(&mut during),
        during.len()
    );

    let tokens: serde_json::Value = login()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let access = tokens["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let me = |_| {
        client
            .get(format!("{profile}/me"))
            .bearer_auth(&access)
            .send()
    };
    let (wall, mut latencies) = load(me_requests, 16, me).await?;
    println!(
        "- GET /me: {me_requests} in {:.1} s = {:.0} requests/s, 16 at a time; {}",
        wall.as_secs_f64(),
        me_requests as f64 / wall.as_secs_f64(),
        percentiles(&mut latencies)
    );
    login_storm(&client, &auth, &profile, &access, email).await?;
    limiter_cost(&client, &auth).await?;
    if let Some(rss) = peak_rss_mib() {
        println!(
            "- peak RSS of the whole process (both services, load generator, pools): {rss:.0} MiB"
        );
    }
    Ok(())
}

/// 300 simultaneous password logins against the hashing gate, with
/// `/healthz` and `GET /me` probed throughout.
async fn login_storm(
    client: &reqwest::Client,
    auth: &str,
    profile: &str,
    access: &str,
    email: &str,
) -> Result<(), String> {
    const STORM: usize = 300;
    let login = |_| {
        client
            .post(format!("{auth}/login"))
            .form(&[("username", email), ("password", PASSWORD)])
            .send()
    };
    let storm = load_any(STORM, STORM, login);
    let probe = |url: String, bearer: Option<String>| async move {
        let mut samples = Vec::new();
        let until = Instant::now() + Duration::from_secs(4);
        while Instant::now() < until {
            let request = |_| {
                let request = client.get(&url);
                match &bearer {
                    Some(token) => request.bearer_auth(token).send(),
                    None => request.send(),
                }
            };
            let (_, latency) = load(1, 1, request).await?;
            samples.extend(latency);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok::<_, String>(samples)
    };
    let (storm, health, me) = tokio::join!(
        storm,
        probe(format!("{auth}/healthz"), None),
        probe(format!("{profile}/me"), Some(access.to_owned()))
    );
    let (wall, replies) = storm?;
    let (mut health, mut me) = (health?, me?);
    let mut admitted: Vec<Duration> = replies
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, d)| *d)
        .collect();
    let shed: Vec<Duration> = replies
        .iter()
        .filter(|(s, _)| *s == 503)
        .map(|(_, d)| *d)
        .collect();
    let other = replies.len() - admitted.len() - shed.len();
    // Shed at once (queue full) or after HASH_QUEUE_TIMEOUT_MS of waiting.
    let (mut at_once, mut timed_out): (Vec<Duration>, Vec<Duration>) = shed
        .iter()
        .partition(|latency| **latency < Duration::from_millis(500));
    println!(
        "- storm of {STORM} simultaneous logins: {} admitted ({:.1} logins/s over {:.1} s), {} shed ({:.0}%), {other} other statuses",
        admitted.len(),
        admitted.len() as f64 / wall.as_secs_f64(),
        wall.as_secs_f64(),
        shed.len(),
        100.0 * shed.len() as f64 / STORM as f64,
    );
    println!("  - admitted logins: {}", percentiles(&mut admitted));
    println!(
        "  - shed at once (queue full), {}: {}",
        at_once.len(),
        percentiles(&mut at_once)
    );
    println!(
        "  - shed after waiting HASH_QUEUE_TIMEOUT_MS, {}: {}",
        timed_out.len(),
        percentiles(&mut timed_out)
    );
    println!(
        "  - /healthz during the storm: {} ({} probes)",
        percentiles(&mut health),
        health.len()
    );
    println!(
        "  - GET /me during the storm: {} ({} probes)",
        percentiles(&mut me),
        me.len()
    );
    if other > 0 {
        return Err(format!(
            "{other} storm requests got a status other than 200 or 503"
        ));
    }
    Ok(())
}

/// The per-client limit's cost: `POST /refresh` (limited: one PostgreSQL
/// statement first) against `POST /logout` (not limited) with the same
/// garbage token, which both refuse without touching the database.
async fn limiter_cost(client: &reqwest::Client, auth: &str) -> Result<(), String> {
    const N: usize = 2000;
    let body = serde_json::json!({"refresh_token": "not.a.token"});
    let limited = |_| client.post(format!("{auth}/refresh")).json(&body).send();
    let unlimited = |_| client.post(format!("{auth}/logout")).json(&body).send();
    let (_, limited) = load_any(N, 1, limited).await?;
    let (_, unlimited) = load_any(N, 1, unlimited).await?;
    let mean = |replies: &[(u16, Duration)]| {
        replies.iter().map(|(_, d)| d.as_secs_f64()).sum::<f64>() / replies.len() as f64 * 1000.0
    };
    let (with, without) = (mean(&limited), mean(&unlimited));
    println!(
        "- per-client limit (PostgreSQL GCRA): {with:.3} ms per limited request vs {without:.3} ms unlimited, one at a time: {:.3} ms per request",
        with - without
    );
    Ok(())
}

#[actix_web::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("benchmark failed: {error}");
            ExitCode::FAILURE
        }
    }
}
