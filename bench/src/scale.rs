//! `bench scale`: the services' database cost as the tables grow. Starts
//! both services in this process against a throwaway PostgreSQL, measures
//! signup, login, refresh and `GET /me` (profile cache off) at 1,000
//! users, loads `SCALE_ROWS` users (default 1,000,000) with their
//! profiles, sessions, tokens and back-off rows by `COPY`, measures the
//! same again, then prints every hot query's plan, the tables' sizes and
//! what the clean-up of expired rows costs.
//!
//! bcrypt runs at cost 4 throughout: the point is the database, and at
//! cost 12 a login is 250 ms of CPU whatever the tables hold.
//!
//! Knobs: `SCALE_ROWS`, `SCALE_REQUESTS` (per operation, default 2,000;
//! `GET /me` three times as many), `SCALE_CONCURRENCY` (default 16),
//! `SCALE_BACKLOG` (long-expired sessions for the clean-up part, default
//! a quarter of `SCALE_ROWS`).

mod cleanup;
mod copy;
mod dice;
mod load;
mod model;
mod plans;
mod traffic;
mod workload;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use auth_service::testing::{TokenSigner, hash_password};
use devstack::stack::{StackOptions, start, url};
use diesel::{Connection, PgConnection, RunQueryDsl};
use service_kit::config::EnvReader;
use shared::keys::random_secret;

use copy::Urls;
use model::{Dice, Model};
use traffic::{PASSWORD, Round, Target, thousands};

/// The small size every figure is compared with.
const BASE_ROWS: u64 = 1000;

/// What every phase shares: the data model, where it lives, how big.
pub(crate) struct Shared {
    model: Arc<Model>,
    urls: Arc<Urls>,
    rows: u64,
}

/// Runs `work` on the blocking pool (COPY, diesel), off the async threads.
async fn blocking<T, F>(work: F) -> Result<T, String>
where
    F: FnOnce() -> Result<T, String> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| format!("a blocking task failed: {e}"))?
}

fn connect(url: &str) -> Result<PgConnection, String> {
    PgConnection::establish(url).map_err(|e| format!("cannot connect to {url}: {e}"))
}

fn setting(name: &str, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => value
            .trim()
            .replace(['_', ','], "")
            .parse()
            .map_err(|_| format!("{name}={value:?} is not a whole number")),
        _ => Ok(default),
    }
}

/// `VACUUM (ANALYZE)` of both databases, as autovacuum would do after a
/// bulk load (done now, so it does not run during the measurements).
fn vacuum(urls: &Urls) -> Result<(), String> {
    for url in [&urls.auth, &urls.profile] {
        diesel::sql_query("VACUUM (ANALYZE)")
            .execute(&mut connect(url)?)
            .map_err(|e| format!("VACUUM: {e}"))?;
    }
    Ok(())
}

fn print_round(label: &str, round: &Round) {
    println!(
        "- {label}: signup {}; login {}; refresh ({} sessions) {}; GET /me {}",
        round.signup.summary(),
        round.login.summary(),
        thousands(round.refresh.latencies.len() as u64),
        round.refresh.summary(),
        round.me.summary()
    );
}

fn print_comparison(small: &Round, large: &Round, rows: u64) {
    println!(
        "\n| operation | {} users | {} users |",
        thousands(BASE_ROWS),
        thousands(rows)
    );
    println!("| --- | --- | --- |");
    for (name, a, b) in [
        ("signup", &small.signup, &large.signup),
        ("login (password grant)", &small.login, &large.login),
        ("refresh", &small.refresh, &large.refresh),
        ("GET /me (cache off)", &small.me, &large.me),
    ] {
        println!("| {name} | {} | {} |", a.summary(), b.summary());
    }
}

/// The whole run; see the module documentation.
pub async fn run() -> Result<(), String> {
    if std::env::var("DATABASE_URL").is_ok_and(|url| !url.trim().is_empty()) {
        return Err(
            "the scale run loads millions of rows: it runs on a throwaway PostgreSQL \
                    only; unset DATABASE_URL"
                .into(),
        );
    }
    let rows = setting("SCALE_ROWS", 1_000_000)?;
    let requests = usize::try_from(setting("SCALE_REQUESTS", 2000)?).unwrap_or(2000);
    let concurrency = usize::try_from(setting("SCALE_CONCURRENCY", 16)?).unwrap_or(16);
    let backlog = setting("SCALE_BACKLOG", rows / 4)?;
    if rows <= BASE_ROWS {
        return Err(format!("SCALE_ROWS must be above {BASE_ROWS}"));
    }
    let (access_secret, refresh_secret) = (random_secret(), random_secret());
    let stack = start(StackOptions {
        secrets_given: false,
        auth_bind: "127.0.0.1:0".into(),
        profile_bind: "127.0.0.1:0".into(),
        access_secret: access_secret.clone(),
        refresh_secret: refresh_secret.clone(),
        extra: [
            ("BCRYPT_COST", "4"),
            ("RATE_LIMIT_PER_MINUTE", "1000000"),
            ("METRICS_BIND_ADDR", ""),
            ("PROFILE_CACHE_SIZE", "0"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect(),
    })
    .await
    .map_err(|e| service_kit::error::Chain(&e).to_string())?;
    let target = Target {
        client: reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?,
        auth: url(stack.auth.addr()),
        profile: url(stack.profile.addr()),
        concurrency,
    };
    let database = stack.database;
    actix_web::rt::spawn(stack.auth.run_until_stopped());
    actix_web::rt::spawn(stack.profile.run_until_stopped());
    let urls = Arc::new(Urls {
        auth: database.url("auth"),
        profile: database.url("profile"),
    });
    let config = auth_service::config::Config::read(EnvReader::with_overrides(HashMap::from([
        ("DATABASE_URL".to_owned(), urls.auth.clone()),
        ("JWT_SECRET_KEY".to_owned(), access_secret),
        ("JWT_REFRESH_SECRET_KEY".to_owned(), refresh_secret),
        ("METRICS_BIND_ADDR".to_owned(), String::new()),
    ])))
    .map_err(|e| e.to_string())?;
    let password_hash = blocking(|| hash_password(PASSWORD, 4)).await?;
    let stride = |users: u64| (users / requests.max(1) as u64).max(1);
    let shared = Shared {
        model: Arc::new(Model {
            now: chrono::Utc::now().timestamp(),
            password_hash,
            signer: TokenSigner::new(&config),
            refresh_ttl: i64::try_from(config.refresh_ttl.as_secs()).unwrap_or(i64::MAX),
            samples: vec![
                (0, BASE_ROWS, stride(BASE_ROWS)),
                (BASE_ROWS, rows, stride(rows - BASE_ROWS)),
            ],
        }),
        urls,
        rows,
    };
    println!(
        "# auth-stack at scale: {} vs {} users\n\n{} cores shared by PostgreSQL 15 (default \
         settings, shared_buffers 128 MB), both services and the load generator. BCRYPT_COST=4 \
         for every figure here (the point is the database; at cost 12 a login is ~250 ms of \
         CPU at any size); {concurrency} requests at a time; {} requests per operation \
         (refresh: one per sampled live session), GET /me {} over 500 users' tokens, \
         PROFILE_CACHE_SIZE=0.",
        thousands(BASE_ROWS),
        thousands(rows),
        std::thread::available_parallelism().map_or(0, usize::from),
        thousands(requests as u64),
        thousands(3 * requests as u64)
    );

    let small = measure(&shared, &target, 0..BASE_ROWS, requests).await?;
    print_round(&format!("{} users", thousands(BASE_ROWS)), &small);
    let large = measure(&shared, &target, BASE_ROWS..rows, requests).await?;
    print_round(&format!("{} users", thousands(rows)), &large);
    print_comparison(&small, &large, rows);

    let (model, urls) = (shared.model.clone(), shared.urls.clone());
    blocking(move || report(&model, &urls, rows)).await?;

    // Few enough logins that each finds a full sweep's worth of backlog.
    let draining = (requests / 4)
        .min(usize::try_from(backlog / 200).unwrap_or(0))
        .max(1);
    let mut dice = Dice::new(rows, 200);
    let drainers: Vec<String> = (0..draining)
        .map(|_| shared.model.user(dice.below(rows)).email)
        .collect();
    cleanup::run(&shared, &target, backlog, &drainers, &large.login).await?;
    drop(database);
    Ok(())
}

/// Loads users `fresh` (timed, with the VACUUM after it), then runs one
/// round of requests at that size.
async fn measure(
    shared: &Shared,
    target: &Target,
    fresh: std::ops::Range<u64>,
    requests: usize,
) -> Result<Round, String> {
    let users = fresh.end;
    let (model, urls, range) = (shared.model.clone(), shared.urls.clone(), fresh.clone());
    let started = Instant::now();
    let rebuilt = blocking(move || load::load_users(&model, &urls, range)).await?;
    let loaded = started.elapsed().as_secs_f64();
    let urls = shared.urls.clone();
    let started = Instant::now();
    blocking(move || vacuum(&urls)).await?;
    let vacuumed = started.elapsed().as_secs_f64();
    println!(
        "\nLoaded users {}..{} with COPY in {loaded:.1} s (of which {:.1} s rebuilding the \
         secondary indexes dropped for it); VACUUM (ANALYZE) {vacuumed:.1} s.",
        thousands(fresh.start),
        thousands(fresh.end),
        rebuilt.as_secs_f64()
    );
    let model = shared.model.clone();
    let work = blocking(move || workload::workload(&model, fresh, users, requests)).await?;
    target.round(&work).await
}

/// The plans of the hot queries and the tables' sizes, at full size.
fn report(model: &Model, urls: &Urls, rows: u64) -> Result<(), String> {
    let mut auth = connect(&urls.auth)?;
    let mut profile = connect(&urls.profile)?;
    println!(
        "\n## Plans of the hot queries at {} users\n\nEach statement as the store modules \
         send it, with keys from the loaded data, EXPLAIN (ANALYZE, BUFFERS) in a transaction \
         rolled back.",
        thousands(rows)
    );
    let warnings = plans::print_plans(&mut auth, &mut profile, &workload::probe(model, rows))
        .map_err(|e| format!("EXPLAIN: {e}"))?;
    if warnings.is_empty() {
        println!(
            "\nEvery hot query reads its tables through an index (no Seq Scan on a table over 10,000 rows)."
        );
    } else {
        println!(
            "\n{} hot queries read a big table without an index:",
            warnings.len()
        );
        for warning in &warnings {
            println!("- {warning}");
        }
    }
    println!(
        "\n## Table sizes at {} users\n\n| database | table | rows | table | indexes | total \
         (with TOAST) | each index |\n| --- | --- | --- | --- | --- | --- | --- |",
        thousands(rows)
    );
    let total = plans::print_sizes(&mut auth, "auth").map_err(|e| e.to_string())?
        + plans::print_sizes(&mut profile, "profile").map_err(|e| e.to_string())?;
    println!(
        "\nAll together {}: {:.0} bytes per user.",
        plans::mib(total),
        total as f64 / rows as f64
    );
    Ok(())
}
