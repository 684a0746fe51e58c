//! The replica's ear on `profile_changed`: a dedicated connection that
//! `LISTEN`s, evicts each announced profile from the [`ProfileCache`], and
//! applies each announced revocation to the [`Revocations`] (reloading the
//! whole set from the database each time it connects, since it may have
//! missed some while it was not).
//!
//! diesel exposes libpq's notification queue but not its socket, so the
//! thread asks for news every [`POLL`] (a non-blocking read, no round
//! trip) and sends a `SELECT 1` every [`HEARTBEAT`]: each answer tells the
//! cache the listener is alive (it bypasses itself after
//! [`crate::cache::STALE_AFTER`] without one), and TCP keepalives and
//! `tcp_user_timeout` end a link that hangs. When the connection is gone
//! the cache is emptied and bypassed until a new connection listens
//! again. The thread ends when the revocation set it serves is dropped.
//!
//! The listener must reach PostgreSQL itself: behind a pooler in
//! transaction mode (PgBouncer), `LISTEN` hears nothing, the cache must be
//! turned off (`PROFILE_CACHE_SIZE=0`), and revocations reach the other
//! replicas only when they reconnect.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use service_kit::db::listen::with_link_checks;

use crate::cache::ProfileCache;
use crate::revocations::{Revocation, Revocations};
use crate::services::events::CAUGHT_UP;
use crate::store::CHANNEL;

/// How the listener's connection shows in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "profile-service listener";

const POLL: Duration = Duration::from_millis(10);
const HEARTBEAT: Duration = Duration::from_secs(1);
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// What the listener keeps current.
struct Targets {
    cache: Weak<ProfileCache>,
    revocations: Weak<Revocations>,
}

/// Starts the listener thread for `cache` and `revocations`.
pub fn spawn(
    database_url: SecretString,
    cache: &Arc<ProfileCache>,
    revocations: &Arc<Revocations>,
) -> std::io::Result<()> {
    let targets = Targets {
        cache: Arc::downgrade(cache),
        revocations: Arc::downgrade(revocations),
    };
    std::thread::Builder::new()
        .name("profile-listener".into())
        .spawn(move || run(&database_url, &targets))
        .map(drop)
}

fn run(database_url: &SecretString, targets: &Targets) {
    let mut retry = RETRY_MIN;
    while targets.revocations.strong_count() > 0 {
        match listen(database_url) {
            Ok(mut conn) => {
                if let Err(error) = reload(&mut conn, targets) {
                    tracing::warn!(%error, "cannot load the revocations; listening again");
                    std::thread::sleep(retry);
                    retry = (retry * 2).min(RETRY_MAX);
                    continue;
                }
                let Some(cache) = targets.cache.upgrade() else {
                    return;
                };
                cache.listening(true);
                drop(cache);
                tracing::info!(channel = CHANNEL, "profile cache listening for changes");
                retry = RETRY_MIN;
                let lost = follow(&mut conn, targets);
                if let Some(cache) = targets.cache.upgrade() {
                    cache.listening(false);
                }
                match lost {
                    Ok(()) => return,
                    Err(error) => tracing::warn!(
                        %error,
                        "profile listener lost its connection; the cache is bypassed until it is back"
                    ),
                }
            }
            Err(error) => {
                tracing::warn!(%error, "profile listener cannot connect; the cache stays bypassed");
            }
        }
        std::thread::sleep(retry);
        retry = (retry * 2).min(RETRY_MAX);
    }
}

/// Replaces the revocation set with what the database holds (after
/// `LISTEN`, so nothing falls between the two).
fn reload(conn: &mut PgConnection, targets: &Targets) -> diesel::QueryResult<()> {
    let all = crate::store::revocations::live(conn, chrono::Utc::now())?;
    if let Some(revocations) = targets.revocations.upgrade() {
        revocations.replace_all(all);
    }
    Ok(())
}

fn listen(database_url: &SecretString) -> Result<PgConnection, Box<dyn std::error::Error>> {
    let mut conn = PgConnection::establish(&with_link_checks(database_url.expose_secret()))?;
    conn.batch_execute(&format!(
        "SET application_name = '{APPLICATION_NAME}'; LISTEN {CHANNEL}"
    ))?;
    Ok(conn)
}

/// Follows each notification until the connection fails (`Err`) or the
/// service is gone (`Ok`).
fn follow(conn: &mut PgConnection, targets: &Targets) -> diesel::QueryResult<()> {
    let mut beat = Instant::now();
    loop {
        let (Some(cache), Some(revocations)) =
            (targets.cache.upgrade(), targets.revocations.upgrade())
        else {
            return Ok(());
        };
        let heard = handle_announced(conn, &cache, &revocations)?;
        if beat.elapsed() >= HEARTBEAT {
            conn.batch_execute("SELECT 1")?;
            // What arrived before the answer is handled before the cache
            // hears the listener is alive.
            handle_announced(conn, &cache, &revocations)?;
            cache.heard();
            beat = Instant::now();
        }
        drop((cache, revocations));
        if heard == 0 {
            std::thread::sleep(POLL);
        }
    }
}

/// Handles every notification so far; how many there were.
fn handle_announced(
    conn: &mut PgConnection,
    cache: &ProfileCache,
    revocations: &Revocations,
) -> diesel::QueryResult<usize> {
    let mut count = 0;
    for notification in conn.notifications_iter() {
        let notification = notification?;
        count += 1;
        metrics::counter!("profile_cache_notifications_total", "service" => crate::SERVICE)
            .increment(1);
        let payload = notification.payload.as_str();
        if payload == CAUGHT_UP {
            revocations.caught_up();
        } else if let Some(revocation) = Revocation::from_payload(payload) {
            revocations.apply(revocation);
        } else {
            match payload.parse::<Uuid>() {
                Ok(user) => cache.evict(user),
                Err(_) => cache.evict_all(),
            }
        }
    }
    Ok(count)
}
