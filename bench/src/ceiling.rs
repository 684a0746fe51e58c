//! `GET /me` against its ceiling, in the same run and on the same machine:
//! the `ceiling` binary (JWT verification alone, as profile-service does
//! it), profile-service with its profile cache on and off, and PostgreSQL
//! alone ([`super::pg_only`]). Each server runs alone, loaded by `wrk`
//! with the same token; the figures are printed as ratios of the ceiling
//! beside the targets.

use std::time::Duration;

use super::footprint::Footprint;
use super::phases::Session;
use super::running::{Binary, Service};
use super::services::Testbed;
use super::wrk::{WrkReport, WrkRun};
use super::{env_number, env_seconds, pg_only, procfs};

/// `GET /me` with the cache must reach this share of the ceiling.
const TARGET_CACHED: f64 = 0.5;
/// `GET /me` without the cache must reach this share of the ceiling.
const TARGET_UNCACHED: f64 = 0.15;
/// p99 of `GET /me` at 64 connections must stay under this.
const TARGET_P99_MS: f64 = 10.0;

/// The comparison's knobs, from the environment.
pub struct Settings {
    /// `BENCH_SECONDS` (10): each measured `wrk` run.
    pub seconds: Duration,
    /// `BENCH_WARMUP_SECONDS` (2): an unmeasured `wrk` run before each.
    pub warmup: Duration,
    /// `BENCH_CONNECTIONS` (64).
    pub connections: usize,
    /// `BENCH_CACHE_SIZE` (10000): `PROFILE_CACHE_SIZE` when on.
    pub cache_size: usize,
    /// `BENCH_CACHE_TTL_SECONDS` (300, the service's default):
    /// `PROFILE_CACHE_TTL_SECONDS`.
    pub cache_ttl_seconds: usize,
    /// `BENCH_PG_THREADS` (16, the services' `DB_POOL_MAX_SIZE`).
    pub pg_threads: usize,
}

impl Settings {
    /// Reads the `BENCH_*` variables.
    pub fn from_env() -> Self {
        Self {
            seconds: env_seconds("BENCH_SECONDS", 10.0),
            warmup: env_seconds("BENCH_WARMUP_SECONDS", 2.0),
            connections: env_number("BENCH_CONNECTIONS", 64),
            cache_size: env_number("BENCH_CACHE_SIZE", 10_000),
            cache_ttl_seconds: env_number("BENCH_CACHE_TTL_SECONDS", 300),
            pg_threads: env_number("BENCH_PG_THREADS", 16).max(1),
        }
    }
}

/// profile-service's variables with the cache on or off. (A build
/// without the cache ignores them.)
pub fn profile_env(settings: &Settings, cache: bool) -> Vec<(&'static str, String)> {
    let size = if cache { settings.cache_size } else { 0 };
    vec![
        ("PROFILE_CACHE_SIZE", size.to_string()),
        (
            "PROFILE_CACHE_TTL_SECONDS",
            settings.cache_ttl_seconds.to_string(),
        ),
    ]
}

/// One row of the table.
struct Line {
    what: String,
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// wrk's `Socket errors:` line, when it had one.
    socket_errors: Option<String>,
}

/// Runs the ceiling, `GET /me` cached and uncached, and PostgreSQL alone,
/// one after the other, and prints the comparison.
pub async fn run(
    testbed: &Testbed,
    settings: &Settings,
    session: &Session,
    footprint: &mut Footprint,
) -> Result<(), String> {
    println!("\n## GET /me against the ceiling\n");
    let measure = WrkRun {
        url: String::new(),
        bearer: session.access_token.clone(),
        connections: settings.connections,
        duration: settings.seconds,
    };
    println!(
        "- load generator: {}, a separate process: `{}`, after a {:.0} s warm-up run; \
         each server runs alone; one user's token",
        wrk_version(),
        WrkRun {
            url: "<server>/me".into(),
            ..measure.clone()
        }
        .describe(),
        settings.warmup.as_secs_f64()
    );
    println!(
        "- ceiling: the `ceiling` binary, as many workers as the services, one route that \
         verifies the token with profile-service's own extractor (TokenCodec) and answers a \
         small JSON body: no database, middleware or logging"
    );
    let mut lines = Vec::new();
    let quiet = Duration::from_secs(1);
    let busy_before = procfs::others_busy(quiet).await;

    let ceiling = testbed.start(Binary::Ceiling, &[]).await?;
    footprint.started(&ceiling, "no database");
    let report = hammer(&ceiling, &measure, settings, footprint, "wrk").await?;
    lines.push(line("ceiling: JWT check only", &report));
    ceiling.stop();

    for cache in [true, false] {
        let env = profile_env(settings, cache);
        let profile = testbed.start(Binary::Profile, &env).await?;
        let (label, load) = if cache {
            (
                format!(
                    "GET /me, cache on (PROFILE_CACHE_SIZE={}, PROFILE_CACHE_TTL_SECONDS={})",
                    settings.cache_size, settings.cache_ttl_seconds
                ),
                "GET /me, wrk, cache on",
            )
        } else {
            (
                "GET /me, cache off (PROFILE_CACHE_SIZE=0)".to_owned(),
                "GET /me, wrk, cache off",
            )
        };
        footprint.started(&profile, if cache { "cache on" } else { "cache off" });
        let report = hammer(&profile, &measure, settings, footprint, load).await?;
        lines.push(line(&label, &report));
        profile.stop();
    }

    let url = testbed.database_url("profile", "bench-pg-only");
    let (user, threads) = (session.user_id, settings.pg_threads);
    let (warmup, seconds) = (settings.warmup, settings.seconds);
    let pg =
        tokio::task::spawn_blocking(move || pg_only::run(&url, user, threads, warmup, seconds))
            .await
            .map_err(|e| e.to_string())??;
    lines.push(Line {
        what: format!(
            "PostgreSQL only: profile by primary key through service_kit::db::pool, {} threads",
            pg.threads
        ),
        rate: pg.per_sec,
        p50_ms: pg.p50_ms,
        p99_ms: pg.p99_ms,
        socket_errors: None,
    });
    print_table(&lines, settings.connections);
    let busy_after = procfs::others_busy(quiet).await;
    if let Some(others) = procfs::describe_others(busy_before, busy_after) {
        println!("- {others}");
    }
    Ok(())
}

/// A warm-up run, then the measured one; notes the server's memory.
pub async fn hammer(
    server: &Service,
    run: &WrkRun,
    settings: &Settings,
    footprint: &mut Footprint,
    load: &str,
) -> Result<WrkReport, String> {
    footprint.idle(server);
    let url = format!("{}/me", server.url);
    if settings.warmup >= Duration::from_secs(1) {
        WrkRun {
            url: url.clone(),
            duration: settings.warmup,
            ..run.clone()
        }
        .run()
        .await?;
    }
    let report = WrkRun { url, ..run.clone() }.run().await?;
    footprint.loaded(server, load);
    Ok(report)
}

fn line(what: &str, report: &WrkReport) -> Line {
    Line {
        what: what.to_owned(),
        rate: report.requests_per_sec,
        p50_ms: report.p50_ms,
        p99_ms: report.p99_ms,
        socket_errors: report.socket_errors.clone(),
    }
}

fn print_table(lines: &[Line], connections: usize) {
    let ceiling = lines.first().map_or(f64::NAN, |l| l.rate);
    println!(
        "\n| what | requests/s | p50 | p99 | × ceiling | target |\n| --- | --- | --- | --- | --- | --- |"
    );
    for (index, line) in lines.iter().enumerate() {
        let ratio = line.rate / ceiling;
        let target = match index {
            1 => verdict(ratio, TARGET_CACHED),
            2 => verdict(ratio, TARGET_UNCACHED),
            _ => String::new(),
        };
        println!(
            "| {} | {:.0} | {:.2} ms | {:.2} ms | {ratio:.2} | {target} |",
            line.what, line.rate, line.p50_ms, line.p99_ms
        );
    }
    for line in lines {
        if let Some(errors) = &line.socket_errors {
            println!("- WARNING: wrk's socket errors at {}: {errors}", line.what);
        }
    }
    let p99 = |index: usize| lines.get(index).map_or(f64::NAN, |l| l.p99_ms);
    let met = |ms: f64| if ms < TARGET_P99_MS { "met" } else { "MISSED" };
    println!(
        "\n- GET /me p99 at {connections} connections: cache on {:.2} ms ({}), cache off {:.2} ms ({}); target < {TARGET_P99_MS} ms",
        p99(1),
        met(p99(1)),
        p99(2),
        met(p99(2))
    );
}

fn verdict(ratio: f64, target: f64) -> String {
    let word = if ratio >= target { "met" } else { "MISSED" };
    format!("≥ {target:.2}: {word}")
}

/// `wrk`'s own version line, shortened.
fn wrk_version() -> String {
    std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let first = text.lines().next()?.to_owned();
            Some(
                first
                    .split(" Copyright")
                    .next()
                    .unwrap_or(&first)
                    .trim()
                    .to_owned(),
            )
        })
        .unwrap_or_else(|| "wrk".into())
}
