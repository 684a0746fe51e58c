//! The pool's connections: opened with the request timeouts set, checked
//! out without a round trip, and dropped once they turn out dead.
//!
//! Every connection watches its own queries (a diesel [`Instrumentation`]);
//! one that fails because the server went away is marked broken and
//! dropped when it goes back to the pool. That makes every connection
//! older than the moment suspect: each is pinged once at its next checkout
//! (after a database restart they are all dead). A connection that sat
//! idle longer than [`IDLE_PING`] is pinged too (a proxy or
//! `idle_session_timeout` may have closed it). Under load, nothing is.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::Connection;
use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, ManageConnection, Pool, R2D2Connection};
use secrecy::{ExposeSecret, SecretString};

use super::STATEMENT_TIMEOUT;
use super::error::is_unreachable;

/// A connection idle longer than this is pinged before it is handed out.
pub const IDLE_PING: Duration = Duration::from_secs(10);

/// Opens connections with the request timeouts set and a watch on their
/// health; see the module documentation.
#[derive(Debug)]
pub struct PgConnector {
    inner: ConnectionManager<PgConnection>,
    /// Bumped whenever a connection believed good turns out broken.
    suspicion: Arc<AtomicU64>,
    /// The service whose connections these are (a metrics label).
    service: &'static str,
}

/// A pooled PostgreSQL connection and what is known about its health.
pub struct PgConn {
    conn: PgConnection,
    broken: Arc<AtomicBool>,
    /// The [`PgConnector::suspicion`] this connection was last known good at.
    checked_at: u64,
    /// When it last went back to the pool.
    idle_since: Instant,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConn")
            .field("broken", &self.broken.load(Ordering::Relaxed))
            .field("checked_at", &self.checked_at)
            .field("idle_since", &self.idle_since)
            .finish_non_exhaustive()
    }
}

impl PgConn {
    /// Whether a query on this connection failed because the server or the
    /// link went away.
    pub fn is_broken(&self) -> bool {
        self.broken.load(Ordering::SeqCst)
    }
}

impl Deref for PgConn {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl DerefMut for PgConn {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

/// Marks its connection broken when a query fails for want of a server.
struct Watch {
    broken: Arc<AtomicBool>,
    service: &'static str,
}

impl Instrumentation for Watch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::FinishQuery {
            error: Some(error), ..
        } = event
            && is_unreachable(error)
            && !self.broken.swap(true, Ordering::SeqCst)
        {
            metrics::counter!("db_connections_broken_total", "service" => self.service)
                .increment(1);
        }
    }
}

pub(super) fn set_timeouts(conn: &mut PgConnection, ms: u128) -> diesel::QueryResult<()> {
    conn.batch_execute(&format!(
        "SET statement_timeout = {ms}; SET lock_timeout = {ms}"
    ))
}

impl ManageConnection for PgConnector {
    type Connection = PgConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PgConn, Self::Error> {
        let mut conn = self.inner.connect()?;
        set_timeouts(&mut conn, STATEMENT_TIMEOUT.as_millis())
            .map_err(diesel::r2d2::Error::QueryError)?;
        let broken = Arc::new(AtomicBool::new(false));
        conn.set_instrumentation(Watch {
            broken: broken.clone(),
            service: self.service,
        });
        Ok(PgConn {
            conn,
            broken,
            checked_at: self.suspicion.load(Ordering::SeqCst),
            idle_since: Instant::now(),
        })
    }

    /// No round trip unless some connection broke since this one was last
    /// known good, or it sat idle long; then one `SELECT 1`.
    fn is_valid(&self, conn: &mut PgConn) -> Result<(), Self::Error> {
        let now = self.suspicion.load(Ordering::SeqCst);
        if conn.is_broken() {
            return Err(diesel::r2d2::Error::ConnectionError(
                diesel::ConnectionError::BadConnection("the connection broke".into()),
            ));
        }
        if conn.checked_at != now || conn.idle_since.elapsed() >= IDLE_PING {
            conn.conn.ping().map_err(diesel::r2d2::Error::QueryError)?;
            conn.checked_at = now;
        }
        Ok(())
    }

    /// Called as a connection goes back to the pool. One that broke while
    /// believed good makes every older connection suspect (a failed
    /// suspicion ping does not: that news is already out).
    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.idle_since = Instant::now();
        if conn.is_broken() {
            let _ = self.suspicion.compare_exchange(
                conn.checked_at,
                conn.checked_at + 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
            return true;
        }
        self.inner.has_broken(&mut conn.conn)
    }
}

/// A pool that opens connections on demand (none at build time) and waits
/// at most `connect_timeout` for one.
pub(super) fn pool(
    service: &'static str,
    url: &SecretString,
    max_size: u32,
    connect_timeout: Duration,
) -> Pool<PgConnector> {
    let manager = PgConnector {
        inner: ConnectionManager::new(url.expose_secret()),
        suspicion: Arc::default(),
        service,
    };
    Pool::builder()
        .max_size(max_size)
        .min_idle(Some(0))
        .connection_timeout(connect_timeout)
        // Cheap: see `PgConnector::is_valid`.
        .test_on_check_out(true)
        .build_unchecked(manager)
}
