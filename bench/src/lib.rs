//! The benchmarks behind `cargo run --release -p bench --bin bench`
//! (`scripts/bench` builds the binaries first). They reach the services
//! through HTTP and `shared`, plus each service's `testing` surface where
//! they must (the ceiling's extractor, the scale run's tokens and tables).
//!
//! The default run and `me` start the real release binaries as separate
//! processes against a throwaway PostgreSQL, loaded by `wrk` (a separate
//! process) and by this process:
//!
//! - [`run_default`]: today's figures ([`phases`]), `GET /me` against the
//!   ceiling of a JWT-only server, cache on and off, and PostgreSQL alone
//!   ([`ceiling`], [`pg_only`]), then start-up and memory ([`footprint`]).
//! - [`run_me`]: only `GET /me` against its ceiling (a user is signed up
//!   first), for working on that path.
//! - [`soak::run`]: minutes of mixed traffic at a steady rate, watching
//!   for anything that grows.
//! - [`keys::run`]: what HS256, ES256 and EdDSA cost per token and to
//!   `GET /me` against the ceiling.
//! - [`mail::run`]: the outbox: signup latency with SMTP down and up, and
//!   mails a second from a backlog.
//! - [`revocation::run`]: revocation events: logout-to-401 delay, events
//!   a second, and `GET /me` with 100,000 revoked sessions in the set.
//! - [`refresh::run`]: refresh rotation against `pgbench` running its
//!   statements on the same database.
//! - [`storm::run`]: what shedding a login storm costs: the 503s against
//!   `/healthz` in the same burst, and admitted logins against bcrypt.
//! - [`scale::run`]: both services in this process (`devstack`'s stack)
//!   against millions of rows loaded by `COPY`.
//!
//! Every duration comes from the environment (`BENCH_SECONDS`,
//! `SOAK_MINUTES`, ...), so a smoke run takes seconds.

pub mod ceiling;
pub mod footprint;
pub mod keys;
pub mod latency;
pub mod mail;
pub mod pg_only;
pub mod phases;
pub mod postgres;
pub mod procfs;
pub mod refresh;
pub mod revocation;
pub mod running;
pub mod scale;
pub mod services;
pub mod soak;
pub mod storm;
pub mod wrk;

use std::time::Duration;

use footprint::Footprint;
use running::Binary;
use services::Testbed;

/// `name` as a number, or `default` when unset or not a number.
pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// `name` as (possibly fractional) seconds, or `default` seconds.
pub fn env_seconds(name: &str, default: f64) -> Duration {
    let seconds = std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(default);
    Duration::from_secs_f64(seconds)
}

/// `cargo run --release -p bench --bin bench`: every default phase.
pub async fn run_default() -> Result<(), String> {
    let settings = ceiling::Settings::from_env();
    wrk::check_installed()?;
    let cost = std::env::var("BCRYPT_COST").unwrap_or_else(|_| "12".into());
    let testbed = Testbed::prepare().await?;
    println!(
        "# auth-stack benchmark (BCRYPT_COST={cost}, {} cores)\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    testbed.describe();
    let mut footprint = Footprint::default();
    let auth_env = phases::auth_env(&cost);

    // Start-up on an empty database (migrations), then again (migrated).
    let first = testbed.start(Binary::Auth, &auth_env).await?;
    footprint.started(&first, "first start, migrating");
    first.stop();
    let auth = testbed.start(Binary::Auth, &auth_env).await?;
    footprint.started(&auth, "restart");
    footprint.idle(&auth);
    let profile = testbed
        .start(Binary::Profile, &ceiling::profile_env(&settings, true))
        .await?;
    footprint.started(&profile, "first start, migrating");

    let session = phases::run(&auth.url, &profile.url).await?;
    footprint.loaded(&auth, "logins and the storm of 300");
    auth.stop();
    profile.stop();

    ceiling::run(&testbed, &settings, &session, &mut footprint).await?;
    footprint.print(&testbed);
    testbed.finish();
    Ok(())
}

/// `bench me`: only `GET /me` against its ceiling, cache on and off, and
/// PostgreSQL alone; no logins, storm or footprint table.
pub async fn run_me() -> Result<(), String> {
    let settings = ceiling::Settings::from_env();
    wrk::check_installed()?;
    let testbed = Testbed::prepare().await?;
    println!(
        "# auth-stack benchmark: GET /me only ({} cores)\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    testbed.describe();
    let auth = testbed.start(Binary::Auth, &phases::auth_env("4")).await?;
    let profile = testbed
        .start(Binary::Profile, &ceiling::profile_env(&settings, false))
        .await?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    phases::sign_up(&client, &auth.url).await?;
    let session = phases::sign_in(&client, &auth.url, &profile.url).await?;
    auth.stop();
    profile.stop();
    ceiling::run(&testbed, &settings, &session, &mut Footprint::default()).await?;
    testbed.finish();
    Ok(())
}
