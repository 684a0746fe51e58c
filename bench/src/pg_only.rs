//! PostgreSQL alone, as pgbench's select-only test does it: N threads,
//! each looping over "take a connection from the pool, select one profile
//! by primary key, give it back", through the pool the services use
//! (`service_kit::db::pool`, checkout included; `PgPool::get` skips the
//! requests' line, which N threads with N connections would never wait
//! in) and profile-service's own query (`testing::find_profile`). The
//! ceiling of `GET /me` without a cache.

use std::time::{Duration, Instant};

use secrecy::SecretString;
use uuid::Uuid;

/// What the threads did in the measured window.
pub struct PgOnlyReport {
    pub threads: usize,
    pub queries: usize,
    pub per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Selects profile `user` from `threads` threads for `warmup`, then
/// measures for `duration`. Blocking: run it on the blocking pool.
pub fn run(
    url: &str,
    user: Uuid,
    threads: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<PgOnlyReport, String> {
    let size = u32::try_from(threads).unwrap_or(u32::MAX);
    let pool = service_kit::db::pool(
        "bench",
        &SecretString::from(url.to_owned()),
        size,
        Duration::from_secs(3),
    );
    let select = || -> Result<Duration, String> {
        let started = Instant::now();
        let mut conn = pool.get().map_err(|e| format!("pool: {e}"))?;
        profile_service::testing::find_profile(&mut conn, user)
            .map_err(|e| format!("select the profile: {e}"))?;
        Ok(started.elapsed())
    };
    let loop_for = |window: Duration| -> Result<Vec<Duration>, String> {
        let until = Instant::now() + window;
        let mut samples = Vec::new();
        while Instant::now() < until {
            samples.push(select()?);
        }
        Ok(samples)
    };
    let started = Instant::now();
    let per_thread: Vec<Result<Vec<Duration>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    loop_for(warmup)?;
                    loop_for(duration)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("a thread panicked".into())))
            .collect()
    });
    let measured = started.elapsed().saturating_sub(warmup);
    let mut samples: Vec<Duration> = Vec::new();
    for thread in per_thread {
        samples.extend(thread?);
    }
    samples.sort();
    Ok(PgOnlyReport {
        threads,
        queries: samples.len(),
        per_sec: samples.len() as f64 / measured.as_secs_f64().max(f64::EPSILON),
        p50_ms: super::latency::quantile_ms(&samples, 0.50),
        p99_ms: super::latency::quantile_ms(&samples, 0.99),
    })
}
