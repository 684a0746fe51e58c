//! The replica's ear on `profile_changed`: a dedicated connection that
//! `LISTEN`s and evicts each announced profile from the [`ProfileCache`].
//!
//! diesel exposes libpq's notification queue but not its socket, so the
//! thread asks for news every [`POLL`] (a non-blocking read, no round
//! trip) and sends a `SELECT 1` every [`HEARTBEAT`]: each answer tells the
//! cache the listener is alive (it bypasses itself after
//! [`crate::cache::STALE_AFTER`] without one), and TCP keepalives and
//! `tcp_user_timeout` end a link that hangs. When the connection is gone
//! the cache is emptied and bypassed until a new connection listens
//! again. The thread ends when the cache it serves is dropped.
//!
//! The listener must reach PostgreSQL itself: behind a pooler in
//! transaction mode (PgBouncer), `LISTEN` hears nothing, and the cache
//! must be turned off (`PROFILE_CACHE_SIZE=0`).

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use service_kit::db::listen::with_link_checks;

use crate::cache::ProfileCache;

/// The channel the `profiles` triggers notify on.
pub const CHANNEL: &str = "profile_changed";
/// How the listener's connection shows in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "profile-service listener";

const POLL: Duration = Duration::from_millis(10);
const HEARTBEAT: Duration = Duration::from_secs(1);
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// Starts the listener thread for `cache`, unless the cache is off.
pub fn spawn(database_url: SecretString, cache: &Arc<ProfileCache>) -> std::io::Result<()> {
    if !cache.is_enabled() {
        return Ok(());
    }
    let cache = Arc::downgrade(cache);
    std::thread::Builder::new()
        .name("profile-listener".into())
        .spawn(move || run(&database_url, &cache))
        .map(drop)
}

fn run(database_url: &SecretString, cache: &Weak<ProfileCache>) {
    let mut retry = RETRY_MIN;
    while cache.strong_count() > 0 {
        match listen(database_url) {
            Ok(mut conn) => {
                let Some(live) = cache.upgrade() else { return };
                live.listening(true);
                drop(live);
                tracing::info!(channel = CHANNEL, "profile cache listening for changes");
                retry = RETRY_MIN;
                let lost = follow(&mut conn, cache);
                if let Some(live) = cache.upgrade() {
                    live.listening(false);
                }
                match lost {
                    Ok(()) => return,
                    Err(error) => tracing::warn!(
                        %error,
                        "profile cache listener lost its connection; the cache is bypassed until it is back"
                    ),
                }
            }
            Err(error) => {
                tracing::warn!(%error, "profile cache listener cannot connect; the cache stays bypassed");
            }
        }
        std::thread::sleep(retry);
        retry = (retry * 2).min(RETRY_MAX);
    }
}

fn listen(database_url: &SecretString) -> Result<PgConnection, Box<dyn std::error::Error>> {
    let mut conn = PgConnection::establish(&with_link_checks(database_url.expose_secret()))?;
    conn.batch_execute(&format!(
        "SET application_name = '{APPLICATION_NAME}'; LISTEN {CHANNEL}"
    ))?;
    Ok(conn)
}

/// Evicts what each notification names until the connection fails (`Err`)
/// or the cache is gone (`Ok`).
fn follow(conn: &mut PgConnection, cache: &Weak<ProfileCache>) -> diesel::QueryResult<()> {
    let mut beat = Instant::now();
    loop {
        let Some(cache) = cache.upgrade() else {
            return Ok(());
        };
        let heard = evict_announced(conn, &cache)?;
        if beat.elapsed() >= HEARTBEAT {
            conn.batch_execute("SELECT 1")?;
            // What arrived before the answer is handled before the cache
            // hears the listener is alive.
            evict_announced(conn, &cache)?;
            cache.heard();
            beat = Instant::now();
        }
        drop(cache);
        if heard == 0 {
            std::thread::sleep(POLL);
        }
    }
}

/// Evicts every profile announced so far; how many there were.
fn evict_announced(conn: &mut PgConnection, cache: &ProfileCache) -> diesel::QueryResult<usize> {
    let mut count = 0;
    for notification in conn.notifications_iter() {
        let notification = notification?;
        count += 1;
        metrics::counter!("profile_cache_notifications_total", "service" => crate::SERVICE)
            .increment(1);
        match notification.payload.parse::<Uuid>() {
            Ok(user) => cache.evict(user),
            Err(_) => cache.evict_all(),
        }
    }
    Ok(count)
}
