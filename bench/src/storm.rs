//! `bench storm`: what shedding a login storm costs, against the release
//! auth-service, the load from this process (one client):
//!
//! - `BENCH_STORM_RUNS` (3) bursts through a tiny gate
//!   (`HASH_CONCURRENCY=1 HASH_QUEUE_MAX=2`, `BCRYPT_COST`, default 12):
//!   `BENCH_STORM_LOGINS` (120) password logins and as many `/healthz`
//!   sent at once, interleaved, on as many connections. The 503s answered
//!   at once against the `/healthz` answers of the same burst: p99 against
//!   p99, target ≤ 1.5 (a shed login should cost what a no-op costs);
//! - 300 simultaneous logins through the default gate: the p99 of the
//!   503s answered at once, and the admitted logins' rate against the
//!   bcrypt bound (`HASH_CONCURRENCY` hashes at once, each as long as the
//!   storm's hashes took, read from the service's own
//!   `auth_password_hash_duration_seconds`; a shared machine makes a hash
//!   alone faster than one in the storm, so that bound is printed too),
//!   target ≥ 0.95.

use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream;

use crate::latency::{quantile_ms, send_timed};
use crate::phases;
use crate::running::{Binary, Service};
use crate::services::Testbed;

/// The 503s' p99 may be at most this multiple of `/healthz`'s.
const TARGET_SHED_RATIO: f64 = 1.5;
/// The admitted logins' rate must be at least this share of the bound.
const TARGET_BOUND_SHARE: f64 = 0.95;
/// A 503 faster than this was shed at once, not after waiting in line.
const AT_ONCE: Duration = Duration::from_millis(500);

/// What one answer was: which request, its status, its latency.
struct Answer {
    login: bool,
    status: u16,
    latency: Duration,
}

/// `cargo run --release -p bench --bin bench -- storm`.
pub async fn run() -> Result<(), String> {
    let cost = std::env::var("BCRYPT_COST").unwrap_or_else(|_| "12".into());
    let runs = crate::env_number("BENCH_STORM_RUNS", 3);
    let logins = crate::env_number("BENCH_STORM_LOGINS", 120);
    let testbed = Testbed::prepare().await?;
    println!(
        "# Login storms (BCRYPT_COST={cost}, {} cores)\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    testbed.describe();
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;

    let mut env = phases::auth_env(&cost);
    env.push(("HASH_CONCURRENCY", "1".into()));
    env.push(("HASH_QUEUE_MAX", "2".into()));
    let auth = testbed.start(Binary::Auth, &env).await?;
    phases::sign_up(&client, &auth.url).await?;
    println!(
        "\n## {logins} logins and {logins} /healthz at once, one client \
         (HASH_CONCURRENCY=1, HASH_QUEUE_MAX=2)\n"
    );
    println!(
        "| run | shed at once | admitted | 503 p50 / p99 | /healthz p50 / p99 | 503 p99 ÷ /healthz p99 |\n\
         | --- | --- | --- | --- | --- | --- |"
    );
    // The first burst opens the connections; it is not counted.
    for run in 0..=runs {
        let answers = burst(&client, &auth.url, logins, logins).await?;
        let mut shed = latencies(&answers, |a| a.login && a.status == 503);
        let admitted = answers
            .iter()
            .filter(|a| a.login && a.status == 200)
            .count();
        let mut health = latencies(&answers, |a| !a.login && a.status == 200);
        check_statuses(&answers)?;
        if run == 0 {
            continue;
        }
        shed.sort();
        health.sort();
        let ratio = quantile_ms(&shed, 0.99) / quantile_ms(&health, 0.99);
        let verdict = if ratio <= TARGET_SHED_RATIO {
            "met"
        } else {
            "MISSED"
        };
        println!(
            "| {run} | {} | {admitted} | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {ratio:.2} (≤ {TARGET_SHED_RATIO}: {verdict}) |",
            shed.len(),
            quantile_ms(&shed, 0.5),
            quantile_ms(&shed, 0.99),
            quantile_ms(&health, 0.5),
            quantile_ms(&health, 0.99),
        );
    }
    auth.stop();

    let mut env = phases::auth_env(&cost);
    env.push(("METRICS_BIND_ADDR", "127.0.0.1:0".into()));
    let auth = testbed.start(Binary::Auth, &env).await?;
    default_gate_storm(&client, &auth).await?;
    auth.stop();
    testbed.finish();
    Ok(())
}

/// `logins` password logins and `probes` `/healthz`, all sent at once,
/// interleaved.
async fn burst(
    client: &reqwest::Client,
    auth: &str,
    logins: usize,
    probes: usize,
) -> Result<Vec<Answer>, String> {
    let (login_url, health_url) = (format!("{auth}/login"), format!("{auth}/healthz"));
    let total = logins + probes;
    // Spread the probes evenly among the logins.
    let is_login = |i: usize| (i * logins) / total != ((i + 1) * logins) / total;
    let answers: Vec<Result<Answer, String>> = stream::iter(0..total)
        .map(|i| {
            let login = is_login(i);
            let request = if login {
                client
                    .post(&login_url)
                    .form(&[("username", phases::EMAIL), ("password", phases::PASSWORD)])
            } else {
                client.get(&health_url)
            };
            async move {
                let timed = send_timed(request.send()).await?;
                Ok(Answer {
                    login,
                    status: timed.status,
                    latency: timed.latency,
                })
            }
        })
        .buffer_unordered(total)
        .collect()
        .await;
    answers.into_iter().collect()
}

fn latencies(answers: &[Answer], which: impl Fn(&Answer) -> bool) -> Vec<Duration> {
    answers
        .iter()
        .filter(|a| which(a))
        .map(|a| a.latency)
        .collect()
}

/// Fails on any answer other than a login's 200 or 503 and a probe's 200.
fn check_statuses(answers: &[Answer]) -> Result<(), String> {
    match answers
        .iter()
        .find(|a| !matches!((a.login, a.status), (true, 200 | 503) | (false, 200)))
    {
        Some(odd) => Err(format!(
            "a {} answered {}",
            if odd.login { "login" } else { "/healthz" },
            odd.status
        )),
        None => Ok(()),
    }
}

/// 300 simultaneous logins through the default gate, after measuring one
/// hash alone.
async fn default_gate_storm(client: &reqwest::Client, auth: &Service) -> Result<(), String> {
    const STORM: usize = 300;
    let metrics = auth
        .logged_addr("metrics listening")
        .map(|addr| format!("http://{addr}/metrics"))
        .ok_or("the auth service logged no metrics address")?;
    let hashes = |client: &reqwest::Client| {
        let (client, metrics) = (client.clone(), metrics.clone());
        async move { hash_totals(&client, &metrics).await }
    };
    // One hash alone: a few logins one at a time.
    for _ in 0..4 {
        burst(client, &auth.url, 1, 0).await?;
    }
    let (count, sum) = hashes(client).await?;
    let alone = sum / count;
    let concurrency = std::thread::available_parallelism().map_or(1, usize::from);
    let bound = concurrency as f64 / alone;

    let started = Instant::now();
    let answers = burst(client, &auth.url, STORM, 0).await?;
    check_statuses(&answers)?;
    let mut admitted = latencies(&answers, |a| a.status == 200);
    admitted.sort();
    let mut at_once = latencies(&answers, |a| a.status == 503 && a.latency < AT_ONCE);
    at_once.sort();
    let waited = answers
        .iter()
        .filter(|a| a.status == 503 && a.latency >= AT_ONCE)
        .count();
    let last = admitted.last().copied().unwrap_or_default();
    let rate = admitted.len() as f64 / last.as_secs_f64();
    let (storm_count, storm_sum) = hashes(client).await?;
    // The bound in the storm's own conditions: its hashes, each as long
    // as it took then (the other work on the machine included).
    let during = (storm_sum - sum) / (storm_count - count);
    let bound_during = concurrency as f64 / during;
    let share = rate / bound_during;
    let verdict = if share >= TARGET_BOUND_SHARE {
        "met"
    } else {
        "MISSED"
    };
    println!(
        "\n## {STORM} simultaneous logins, one client, the default gate \
         (HASH_CONCURRENCY={concurrency}, HASH_QUEUE_MAX=64, HASH_QUEUE_TIMEOUT_MS=2000)\n"
    );
    println!("| what | figure |\n| --- | --- |");
    println!(
        "| one hash alone (mean of 4 logins one at a time) | {:.0} ms: {bound:.2} logins/s at {concurrency} at once |",
        alone * 1000.0
    );
    println!(
        "| hashes during the storm | {} of mean {:.0} ms: the bound then, {bound_during:.2} logins/s |",
        storm_count - count,
        during * 1000.0
    );
    println!(
        "| admitted | {} at {rate:.2} logins/s over {:.2} s = {share:.2} of the bound during the storm (≥ {TARGET_BOUND_SHARE}: {verdict}), {:.2} of the bound alone; p50 {:.0} ms, p99 {:.0} ms |",
        admitted.len(),
        last.as_secs_f64(),
        rate / bound,
        quantile_ms(&admitted, 0.5),
        quantile_ms(&admitted, 0.99)
    );
    println!(
        "| shed at once (queue full) | {}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms |",
        at_once.len(),
        quantile_ms(&at_once, 0.5),
        quantile_ms(&at_once, 0.99),
        quantile_ms(&at_once, 1.0)
    );
    println!("| shed after waiting HASH_QUEUE_TIMEOUT_MS | {waited} |");
    println!(
        "| wall time of the storm | {:.2} s |",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `auth_password_hash_duration_seconds`' count and sum, from `/metrics`.
async fn hash_totals(client: &reqwest::Client, url: &str) -> Result<(f64, f64), String> {
    let text = client
        .get(url)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let read = |name: &str| {
        text.lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse::<f64>().ok())
            .ok_or_else(|| format!("no {name} in /metrics"))
    };
    Ok((
        read("auth_password_hash_duration_seconds_count")?,
        read("auth_password_hash_duration_seconds_sum")?,
    ))
}
