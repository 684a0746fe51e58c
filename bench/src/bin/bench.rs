//! `cargo run --release -p bench --bin bench [soak|scale]`: the
//! figures in the README (`scripts/bench` builds the binaries and installs
//! `wrk` first).
//!
//! - no argument: today's phases against the release binaries (logins,
//!   `/healthz`, `GET /me`, the login storm, the limiter's cost), `GET /me`
//!   against a JWT-only ceiling with the profile cache on and off and
//!   PostgreSQL alone, and each binary's start-up and memory;
//! - `me`: only `GET /me` against its ceiling, cache on and off, and
//!   PostgreSQL alone;
//! - `mail`: the outbox's cost to a signup and its rate;
//! - `revocation`: revocation events' delay, rate and cost to `GET /me`;
//! - `keys`: verifying (and signing) one token with HS256, ES256 and
//!   EdDSA, and `GET /me` with each against the ceiling;
//! - `storm`: login storms: the shed answers' p99 against `/healthz`'s in
//!   the same burst, and admitted logins against the bcrypt bound;
//! - `refresh`: refresh rotation against `pgbench` running its statements;
//! - `soak`: minutes of mixed traffic at a steady rate, watching memory,
//!   file descriptors and database connections (not in CI);
//! - `scale`: the services' database cost as the tables grow
//!   ([`bench::scale::run`]).
//!
//! Durations come from the environment: `BENCH_SECONDS`,
//! `BENCH_WARMUP_SECONDS`, `SOAK_MINUTES`, `SOAK_MINUTE_SECONDS`, ...

use std::process::ExitCode;

const USAGE: &str = "usage: bench          today's phases, GET /me against the ceiling, footprint
       bench me       only GET /me against the ceiling (cache on and off, PostgreSQL alone)
       bench mail     the outbox: signup p99 with SMTP down and up, mails/s (BENCH_MAIL_SIGNUPS)
       bench revocation  logout-to-401 delay, events/s, GET /me with BENCH_REVOKED (100,000) revocations
       bench keys     HS256, ES256, EdDSA: µs to verify a token, GET /me against the ceiling with each
       bench storm    shed logins against /healthz in one burst (3 runs), 300 logins against bcrypt's bound
       bench refresh  refreshes/s against pgbench running the same statements, at 4, 16, 64 sessions
       bench soak     SOAK_MINUTES (10) of mixed traffic at SOAK_RATE (200/s)
       bench scale    the database cost at SCALE_ROWS (1,000,000) users against 1,000";

#[actix_web::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => bench::run_default().await,
        ["me"] => bench::run_me().await,
        ["soak"] => bench::soak::run().await,
        ["mail"] => bench::mail::run().await,
        ["revocation"] => bench::revocation::run().await,
        ["keys"] => bench::keys::run().await,
        ["storm"] => bench::storm::run().await,
        ["refresh"] => bench::refresh::run().await,
        ["scale"] => bench::scale::run().await,
        ["--help" | "-h" | "help"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("unknown arguments {args:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("benchmark failed: {error}");
            ExitCode::FAILURE
        }
    }
}
