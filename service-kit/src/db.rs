//! The PostgreSQL pool both services use: built without connecting, so a
//! service can start (and keep running) while the database is away, the
//! start-up wait that applies migrations once the database answers, and
//! [`blocking`] / [`blocking_idempotent`], the ways a request reaches
//! diesel.
//!
//! A request waits for a connection in a fair line, off the blocking
//! threads ([`pool`]); a checkout costs no round trip ([`connections`]
//! says how dead connections are found and dropped). Failures are a
//! [`DbError`], which knows no HTTP: each service maps it in its
//! `error.rs`.

use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use diesel::pg::PgConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

mod connections;
mod error;
pub mod listen;
mod pool;

pub use error::{DbError, WorkError};

/// How long a service waits at start-up for its database.
pub const STARTUP_WAIT: Duration = Duration::from_secs(30);

/// The longest any statement runs or waits for a lock (API.md: no request
/// waits on the database for more than 5 s).
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

use connections::set_timeouts;
pub use connections::{IDLE_PING, PgConn, PgConnector};
pub use pool::{PgPool, Turn};

/// `service`'s pool of at most `max_size` connections; see
/// [`PgPool::new`].
pub fn pool(
    service: &'static str,
    url: &secrecy::SecretString,
    max_size: u32,
    connect_timeout: Duration,
) -> PgPool {
    PgPool::new(service, url, max_size, connect_timeout)
}

type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why the database could not be prepared at start-up.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("the database did not answer within {secs}s", secs = .0.as_secs())]
    Unreachable(Duration, #[source] diesel::r2d2::PoolError),
    #[error("database migrations failed")]
    Migrations(#[source] Cause),
    #[error("the start-up task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// Waits up to [`STARTUP_WAIT`] for the database, then applies
/// `migrations` under an advisory lock, so replicas starting together do
/// not race. Runs on the blocking pool.
pub async fn wait_and_migrate(
    pool: PgPool,
    migrations: EmbeddedMigrations,
) -> Result<(), PrepareError> {
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let mut conn = loop {
            match pool.get() {
                Ok(conn) => break conn,
                Err(error) if started.elapsed() >= STARTUP_WAIT => {
                    return Err(PrepareError::Unreachable(STARTUP_WAIT, error));
                }
                Err(error) => {
                    tracing::warn!(%error, "database not reachable yet; retrying");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        };
        // Migrations may take longer than a request may; the connection
        // goes back to the pool with the request timeouts again.
        let timeouts = |conn: &mut PgConnection, ms: u128| {
            set_timeouts(conn, ms).map_err(|error| PrepareError::Migrations(error.into()))
        };
        timeouts(&mut conn, 0)?;
        let migrated = migrate(&mut conn, migrations);
        timeouts(&mut conn, STATEMENT_TIMEOUT.as_millis())?;
        migrated
    })
    .await
    .map_err(PrepareError::Task)?
}

/// Applies pending `migrations` on `conn` under an advisory lock.
pub fn migrate(
    conn: &mut PgConnection,
    migrations: EmbeddedMigrations,
) -> Result<(), PrepareError> {
    const MIGRATION_LOCK: i64 = 0x006d_6967_7261_7465; // "migrate"
    diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .execute(conn)
        .map_err(|error| PrepareError::Migrations(error.into()))?;
    let applied = conn
        .run_pending_migrations(migrations)
        .map(|versions| versions.len())
        .map_err(PrepareError::Migrations);
    let _ = diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")).execute(conn);
    let applied = applied?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(())
}

/// Whether the database answers a trivial query now, waiting in line like
/// any request. A pooled connection that turns out dead is replaced once,
/// so the first probe after a database restart does not report an outage
/// that is over.
pub async fn ping(pool: &PgPool) -> Result<(), DbError> {
    blocking_idempotent(pool, |conn| {
        diesel::sql_query("SELECT 1").execute(conn)?;
        Ok(())
    })
    .await
}

/// The outcome of one attempt at a unit of work: done, or failed on a
/// connection that broke under it (so the same work may run once more on
/// another connection, if it is safe to repeat).
enum Retry<E> {
    Broken(E),
    Failed(E),
}

impl<E> Retry<E> {
    /// Runs `work` once more when the first attempt's connection broke;
    /// otherwise gives back the first error.
    fn again<T>(
        self,
        pool: &PgPool,
        turn: &Turn,
        work: impl FnOnce(&mut PgConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: WorkError,
    {
        match self {
            Self::Broken(_) => {
                metrics::counter!("db_retries_total", "service" => pool.service()).increment(1);
                // A fresh connection may have to be opened: the retry gets
                // the pool's whole timeout for it, whatever the line took.
                let deadline = turn
                    .deadline
                    .max(Instant::now() + pool.connection_timeout());
                checkout_and_run(pool, deadline, None, work).map_err(Retry::into_inner)
            }
            Self::Failed(error) => Err(error),
        }
    }

    fn into_inner(self) -> E {
        match self {
            Self::Broken(error) | Self::Failed(error) => error,
        }
    }
}

/// The first attempt at a request's work with its `turn`.
fn attempt<T, E>(
    pool: &PgPool,
    turn: &Turn,
    work: impl FnOnce(&mut PgConnection) -> Result<T, E>,
) -> Result<T, Retry<E>>
where
    E: WorkError,
{
    checkout_and_run(pool, turn.deadline, Some(turn.asked_at), work)
}

/// Checks a connection out (blocking; one is free, given a turn, unless
/// it must be opened or work outside the line holds some), waiting until
/// `deadline` at most, and runs `work` on it once. With `asked_at`, records
/// how long the request waited for its connection, in line and at the
/// checkout (once per request: a retry passes none).
///
/// A unit of work whose query failed after [`STATEMENT_TIMEOUT`] has run
/// into the statement or lock timeout (the server cancelled it): that is
/// the database being busy ([`DbError::StatementTimeout`]), not a bug.
/// (diesel gives no kind for PostgreSQL's SQLSTATE 57014 or 55P03, and the
/// message text depends on the server's language, so the clock decides.)
fn checkout_and_run<T, E>(
    pool: &PgPool,
    deadline: Instant,
    asked_at: Option<Instant>,
    work: impl FnOnce(&mut PgConnection) -> Result<T, E>,
) -> Result<T, Retry<E>>
where
    E: WorkError,
{
    let checkout = pool.get_until(deadline);
    if let Some(asked_at) = asked_at {
        metrics::histogram!("db_pool_wait_duration_seconds", "service" => pool.service())
            .record(asked_at.elapsed().as_secs_f64());
    }
    let mut conn = checkout.map_err(|error| {
        metrics::counter!("db_pool_checkout_failures_total", "service" => pool.service())
            .increment(1);
        Retry::Failed(DbError::from(error).into())
    })?;
    let started = Instant::now();
    match work(&mut conn) {
        Ok(done) => Ok(done),
        Err(error) if conn.is_broken() => Err(Retry::Broken(error)),
        Err(error)
            if matches!(error.as_db_error(), Some(DbError::Query(_)))
                && started.elapsed() >= STATEMENT_TIMEOUT =>
        {
            if let Some(cause) = error.as_db_error() {
                let cause = crate::telemetry::Chain(cause);
                tracing::warn!(error = %cause, "database work ran into the statement or lock timeout");
            }
            Err(Retry::Failed(DbError::StatementTimeout.into()))
        }
        Err(error) => Err(Retry::Failed(error)),
    }
}

/// Waits for a turn at a connection (async, in arrival order), then runs
/// `work` with a pooled connection on the blocking thread pool, inside the
/// caller's tracing span. Taking a connection from the pool blocks as
/// much as diesel does, so both happen there, never on an async worker.
/// No turn within the pool's timeout is [`DbError::PoolTimeout`], and
/// work that fails because its connection broke is
/// [`DbError::Unavailable`]; for work that is safe
/// to repeat, use [`blocking_idempotent`].
pub async fn blocking<T, E, F>(pool: &PgPool, work: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: WorkError + Send + 'static,
{
    let turn = pool.turn().await?;
    let pool = pool.clone();
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        span.in_scope(|| attempt(&pool, &turn, work).map_err(Retry::into_inner))
    })
    .await
    .map_err(|error| DbError::Task(error.to_string()))?
}

/// Like [`blocking`], for work that may safely run twice (a read, or a
/// write whose second run changes nothing): when its connection breaks
/// under it (the database restarted since the connection was opened), it
/// runs once more on a fresh connection, so a restart costs the request
/// nothing once the database is back.
pub async fn blocking_idempotent<T, E, F>(pool: &PgPool, work: F) -> Result<T, E>
where
    F: Fn(&mut PgConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: WorkError + Send + 'static,
{
    let turn = pool.turn().await?;
    let pool = pool.clone();
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        span.in_scope(|| {
            attempt(&pool, &turn, &work).or_else(|retry| retry.again(&pool, &turn, &work))
        })
    })
    .await
    .map_err(|error| DbError::Task(error.to_string()))?
}
