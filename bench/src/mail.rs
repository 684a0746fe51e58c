//! `bench mail`: what the outbox costs and delivers. Signup latency with
//! the SMTP server down against up (it must not move: no request waits on
//! SMTP), and how many mails a second one runner sends to a local catcher
//! (devstack's, counting instead of printing) from a backlog; and
//! `/recover`'s median for an account against no account.
//!
//! bcrypt is set to cost 4 here so that a signup's own work, not the hash,
//! is what the two latencies compare.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::latency::{load, percentiles, quantile_ms, send_timed};
use crate::running::Binary;
use crate::services::Testbed;

/// `cargo run --release -p bench --bin bench -- mail`.
pub async fn run() -> Result<(), String> {
    let signups = crate::env_number("BENCH_MAIL_SIGNUPS", 2000);
    let concurrency = crate::env_number("BENCH_MAIL_CONCURRENCY", 16);
    let testbed = Testbed::prepare().await?;
    testbed.describe();
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let catcher = devstack::mail_catcher::start_with(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        Arc::new(move |_: &[String], _: &[u8]| {
            counter.fetch_add(1, Ordering::Relaxed);
        }),
    )
    .map_err(|e| e.to_string())?;
    let closed = closed_port()?;
    let env = |smtp: SocketAddr| {
        vec![
            ("BCRYPT_COST", "4".to_owned()),
            ("RATE_LIMIT_PER_MINUTE", "0".to_owned()),
            ("SMTP_URL", format!("smtp://{smtp}?tls=none")),
            ("MAIL_FROM", "Bench <bench@localhost>".to_owned()),
            ("APP_URL", "http://localhost:3000".to_owned()),
            ("MAIL_INTERVAL_SECONDS", "0".to_owned()),
        ]
    };
    println!("# The outbox ({signups} signups, {concurrency} at a time, BCRYPT_COST=4)\n");
    println!("| phase | figure |\n| --- | --- |");

    // SMTP down: every signup still answers at once; its mail waits.
    let auth = testbed.start(Binary::Auth, &env(closed)).await?;
    let down = signup_latencies(&auth.url, "down", signups, concurrency).await?;
    println!("| signup, SMTP down | {down} |");
    auth.stop();

    // The backlog, due now, sent by one runner to the catcher.
    let url = testbed.database_url("auth", "bench-mail");
    tokio::task::spawn_blocking(move || {
        let mut conn = PgConnection::establish(&url).map_err(|e| e.to_string())?;
        diesel::sql_query("UPDATE outbox SET next_attempt_at = now()")
            .execute(&mut conn)
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())??;
    let started = Instant::now();
    let auth = testbed.start(Binary::Auth, &env(catcher)).await?;
    wait_for(&received, signups, Duration::from_secs(600)).await?;
    let rate = signups as f64 / started.elapsed().as_secs_f64();
    println!("| backlog of {signups} mails sent (start-up included) | {rate:.0} mails/s |");

    // SMTP up: signups while their mails leave.
    let up = signup_latencies(&auth.url, "up", signups, concurrency).await?;
    println!("| signup, SMTP up (mails leaving meanwhile) | {up} |");
    wait_for(&received, 2 * signups, Duration::from_secs(600)).await?;

    // /recover for an account and for no account, interleaved one at a time.
    let (known, unknown) =
        recover_medians(&auth.url, crate::env_number("BENCH_RECOVER_REQUESTS", 500)).await?;
    println!(
        "| `/recover` median, existing account / unknown address | {known:.2} ms / {unknown:.2} ms |"
    );
    auth.stop();
    testbed.finish();
    Ok(())
}

async fn signup_latencies(
    base: &str,
    tag: &str,
    count: usize,
    concurrency: usize,
) -> Result<String, String> {
    let client = reqwest::Client::new();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (_, mut latencies) = load(count, concurrency, |i| {
        let body = serde_json::json!({
            "email": format!("mail-{tag}-{run}-{i}@example.com"),
            "password": "correct horse battery staple",
        });
        client.post(format!("{base}/signup")).json(&body).send()
    })
    .await?;
    Ok(percentiles(&mut latencies))
}

/// Median latencies of `/recover` for an existing account and for an
/// unknown address, `count` each, alternating.
async fn recover_medians(base: &str, count: usize) -> Result<(f64, f64), String> {
    let client = reqwest::Client::new();
    let known = format!("known-{}@example.com", uuid::Uuid::new_v4().simple());
    let body = serde_json::json!({"email": known, "password": "correct horse battery staple"});
    send_timed(client.post(format!("{base}/signup")).json(&body).send()).await?;
    let mut times: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    for i in 0..count * 2 {
        let email = if i % 2 == 0 {
            known.clone()
        } else {
            format!("unknown-{i}@example.com")
        };
        let body = serde_json::json!({ "email": email });
        let reply = send_timed(client.post(format!("{base}/recover")).json(&body).send()).await?;
        if reply.status != 202 {
            return Err(format!("/recover answered {}", reply.status));
        }
        times[i % 2].push(reply.latency);
    }
    let [mut known, mut unknown] = times;
    known.sort();
    unknown.sort();
    Ok((quantile_ms(&known, 0.5), quantile_ms(&unknown, 0.5)))
}

async fn wait_for(received: &AtomicUsize, count: usize, limit: Duration) -> Result<(), String> {
    let started = Instant::now();
    while received.load(Ordering::Relaxed) < count {
        if started.elapsed() > limit {
            return Err(format!(
                "only {} of {count} mails arrived in {limit:?}",
                received.load(Ordering::Relaxed)
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// A loopback port nothing listens on (bound, then closed): an SMTP
/// server that is down.
fn closed_port() -> Result<SocketAddr, String> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(|e| e.to_string())?;
    listener.local_addr().map_err(|e| e.to_string())
}
