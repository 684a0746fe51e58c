//! `bench soak`: `SOAK_MINUTES` (10) of mixed traffic at a steady
//! `SOAK_RATE` (200 requests/s, open loop: requests are sent on schedule
//! whether or not earlier ones have been answered) against the release
//! binaries, reporting every minute (`SOAK_MINUTE_SECONDS`, 60, shortens
//! it for a smoke run); then whether anything grew from the first minute
//! to the last, and every answer other than the intended one. Logins run
//! at `BCRYPT_COST=4` unless set, so bcrypt does not set the pace;
//! `SOAK_SEED_USERS` (20) users exist before the clock starts; the profile
//! cache is on (`BENCH_CACHE_SIZE`, `BENCH_CACHE_TTL_SECONDS`).

mod report;
pub mod traffic;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::{Instant, sleep_until};

use super::running::Binary;
use super::services::Testbed;
use super::{ceiling, env_number, env_seconds};
use report::Minute;
use traffic::{MIX, Sample, Traffic};

/// Requests in flight before the generator counts one as "not sent".
const MAX_IN_FLIGHT: usize = 512;

/// Runs the soak; `Err` when an answer was unintended or something grew.
pub async fn run() -> Result<(), String> {
    let minutes = env_number("SOAK_MINUTES", 10).max(1);
    let minute = env_seconds("SOAK_MINUTE_SECONDS", 60.0).max(Duration::from_secs(1));
    let rate = env_number("SOAK_RATE", 200).max(1);
    let seed_users = env_number("SOAK_SEED_USERS", 20);
    let cost = std::env::var("BCRYPT_COST").unwrap_or_else(|_| "4".into());
    let settings = ceiling::Settings::from_env();
    let testbed = Testbed::prepare().await?;
    println!(
        "# auth-stack soak: {minutes} × {:.0} s at {rate} requests/s ({MIX}), BCRYPT_COST={cost}\n",
        minute.as_secs_f64()
    );
    testbed.describe();
    println!(
        "- load generator: this process (reqwest), open loop at a fixed rate, at most \
         {MAX_IN_FLIGHT} requests in flight; {seed_users} users signed up and logged in first, \
         sign-ups add more; one request at a time per user\n"
    );
    let auth = testbed
        .start(
            Binary::Auth,
            &[
                ("BCRYPT_COST", cost),
                ("RATE_LIMIT_PER_MINUTE", "1000000".into()),
                // Access tokens must outlive the soak for users not refreshed.
                ("ACCESS_TOKEN_EXPIRE_MINUTES", "1440".into()),
            ],
        )
        .await?;
    let profile = testbed
        .start(Binary::Profile, &ceiling::profile_env(&settings, true))
        .await?;
    let traffic = Arc::new(Traffic::new(&auth.url, &profile.url)?);
    traffic.seed(seed_users).await?;

    let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let not_sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let total = (rate as f64 * minute.as_secs_f64()).round() as u64 * minutes as u64;
    let generator = async {
        for i in 0..total {
            sleep_until(started + Duration::from_secs_f64(i as f64 / rate as f64)).await;
            let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                not_sent.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let (traffic, samples) = (traffic.clone(), samples.clone());
            tokio::spawn(async move {
                let sample = traffic.perform(i).await;
                if let Ok(mut samples) = samples.lock() {
                    samples.push(sample);
                }
                drop(permit);
            });
        }
    };
    let services = [&auth, &profile];
    let admin_url = testbed.database.admin_url();
    let reporter = async {
        Minute::print_header(&services);
        let mut done = Vec::new();
        for index in 1..=minutes {
            sleep_until(started + minute * index as u32).await;
            if index == minutes {
                // The last requests' answers belong to the last minute.
                let deadline = Instant::now() + Duration::from_secs(10);
                while in_flight.available_permits() < MAX_IN_FLIGHT && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            let taken = samples
                .lock()
                .map(|mut samples| std::mem::take(&mut *samples))
                .unwrap_or_default();
            let figures = report::measure(&services, &admin_url).await;
            let summary = Minute::new(
                index,
                minute,
                taken,
                not_sent.swap(0, Ordering::Relaxed),
                figures,
            );
            summary.print_row();
            done.push(summary);
        }
        done
    };
    let ((), minutes_seen) = tokio::join!(generator, reporter);
    println!("\n- users at the end: {}", traffic.users());
    report::verdict(&minutes_seen)?;
    drop((auth, profile));
    testbed.finish();
    Ok(())
}
