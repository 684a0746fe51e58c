//! The PostgreSQL pool both services use: built without connecting, so a
//! service can start (and keep running) while the database is away, the
//! start-up wait that applies migrations once the database answers, and
//! [`blocking`], the one way a request reaches diesel.

use std::time::{Duration, Instant};

use actix_web::ResponseError;
use actix_web::http::StatusCode;
use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use secrecy::{ExposeSecret, SecretString};

use crate::error::InfraError;

/// A pool of PostgreSQL connections.
pub type PgPool = Pool<ConnectionManager<PgConnection>>;

/// How long a service waits at start-up for its database.
pub const STARTUP_WAIT: Duration = Duration::from_secs(30);

/// The longest any statement runs or waits for a lock (API.md: no request
/// waits on the database for more than 5 s).
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// Sets the statement and lock timeouts on every new connection.
#[derive(Debug)]
struct Timeouts;

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for Timeouts {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        let ms = STATEMENT_TIMEOUT.as_millis();
        conn.batch_execute(&format!(
            "SET statement_timeout = {ms}; SET lock_timeout = {ms}"
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
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

/// A pool that opens connections on demand (none at build time) and waits
/// at most `connect_timeout` for one before the request gets a 503.
pub fn pool(url: &SecretString, max_size: u32, connect_timeout: Duration) -> PgPool {
    let manager = ConnectionManager::<PgConnection>::new(url.expose_secret());
    Pool::builder()
        .max_size(max_size)
        .min_idle(Some(0))
        .connection_timeout(connect_timeout)
        .test_on_check_out(true)
        .connection_customizer(Box::new(Timeouts))
        .build_unchecked(manager)
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
            conn.batch_execute(&format!(
                "SET statement_timeout = {ms}; SET lock_timeout = {ms}"
            ))
            .map_err(|error| PrepareError::Migrations(error.into()))
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

/// Whether the database answers a trivial query now (blocking).
pub fn ping(pool: &PgPool) -> Result<(), InfraError> {
    let mut conn = pool.get()?;
    diesel::sql_query("SELECT 1").execute(&mut conn)?;
    Ok(())
}

/// Runs `work` with a pooled connection on the blocking thread pool, inside
/// the caller's tracing span. Taking a connection from the pool blocks as
/// much as diesel does, so both happen here, never on an async worker.
///
/// A unit of work that fails with an internal error after
/// [`STATEMENT_TIMEOUT`] has run into the statement or lock timeout (the
/// server cancelled it): that is the database being busy, 503, not a bug.
/// (PostgreSQL's SQLSTATE is not exposed by diesel, and its message text
/// depends on the server's language, so the clock decides.)
pub async fn blocking<T, E, F>(pool: &PgPool, work: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<InfraError> + ResponseError + Send + 'static,
{
    let pool = pool.clone();
    let span = tracing::Span::current();
    actix_web::web::block(move || {
        span.in_scope(|| {
            let waited = std::time::Instant::now();
            let checkout = pool.get();
            metrics::histogram!("db_pool_wait_duration_seconds")
                .record(waited.elapsed().as_secs_f64());
            let mut conn = checkout.map_err(|error| {
                metrics::counter!("db_pool_checkout_failures_total").increment(1);
                InfraError::from(error)
            })?;
            let started = std::time::Instant::now();
            match work(&mut conn) {
                Err(error)
                    if error.status_code().is_server_error()
                        && error.status_code() != StatusCode::SERVICE_UNAVAILABLE
                        && started.elapsed() >= STATEMENT_TIMEOUT =>
                {
                    tracing::warn!(error = %error, "database work ran into the statement or lock timeout");
                    Err(InfraError::Unavailable("the statement or lock timeout ran out".into()).into())
                }
                done => done,
            }
        })
    })
    .await
    .map_err(InfraError::from)?
}
