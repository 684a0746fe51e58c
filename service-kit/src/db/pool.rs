//! The pool the services use: r2d2 connections (see [`super::connections`])
//! behind a line that requests wait in, in arrival order.
//!
//! r2d2 makes a thread that wants a connection wait for one, parked on a
//! condition variable, and a thread that just gave one back may take it
//! again before the longest waiter wakes. Under load that left a few
//! requests waiting far longer than the rest, and every waiting request
//! held a blocking thread. So a request first waits for its turn here, on
//! the async worker and holding no thread, in a first-in-first-out line
//! with one place per connection ([`tokio::sync::Semaphore`] is fair);
//! only with its turn does it go to a blocking thread, where a connection
//! is free (or is opened). The wait for a turn and for the connection
//! together stay within the pool's connection timeout, after which the
//! request gets a 503.
//!
//! The line bounds the blocking threads that hold or wait for a
//! connection to the pool's size. actix lets each worker start 512 ÷
//! cores blocking threads; a pool larger than that (`DB_POOL_MAX_SIZE`
//! goes to 1000) would let turns queue for a thread, with their deadline
//! running, where `db_pool_waiting` does not see them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel::r2d2::{Pool, PoolError, PooledConnection, State};
use secrecy::SecretString;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::DbError;
use super::connections::{self, PgConnector};

/// The pool's connections and the line in front of them.
#[derive(Debug, Clone)]
pub struct PgPool {
    connections: Pool<PgConnector>,
    /// One permit per connection.
    turns: Arc<Semaphore>,
    /// How many requests are waiting for a turn now.
    waiting: Arc<AtomicUsize>,
    /// The service it serves: the `service` label of its metrics.
    service: &'static str,
}

/// A request's turn at a connection: while it is held, a connection is
/// free for it (unless work outside the line holds some).
#[derive(Debug)]
pub struct Turn {
    _permit: OwnedSemaphorePermit,
    /// When the request started waiting.
    pub asked_at: Instant,
    /// The latest moment the connection may still be waited for.
    pub deadline: Instant,
}

/// Counts a request as waiting for as long as it is alive (dropped when
/// the turn comes, or when the request is abandoned).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl PgPool {
    /// `service`'s pool of at most `max_size` connections that opens them
    /// on demand (none at build time) and lets a request wait at most
    /// `connect_timeout` for one before giving up ([`DbError::PoolTimeout`]).
    pub fn new(
        service: &'static str,
        url: &SecretString,
        max_size: u32,
        connect_timeout: Duration,
    ) -> Self {
        let size = usize::try_from(max_size).unwrap_or(Semaphore::MAX_PERMITS);
        Self {
            connections: connections::pool(service, url, max_size, connect_timeout),
            turns: Arc::new(Semaphore::new(size.min(Semaphore::MAX_PERMITS))),
            waiting: Arc::default(),
            service,
        }
    }

    /// The service the pool serves (its metrics' `service` label).
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// Waits (async, first come first served) for a turn at a connection,
    /// at most the pool's connection timeout.
    pub async fn turn(&self) -> Result<Turn, DbError> {
        let asked_at = Instant::now();
        let deadline = asked_at + self.connections.connection_timeout();
        let waiting = Waiting::new(&self.waiting);
        let permit = tokio::time::timeout_at(deadline.into(), self.turns.clone().acquire_owned())
            .await
            .map_err(|_| {
                metrics::histogram!("db_pool_wait_duration_seconds", "service" => self.service)
                    .record(asked_at.elapsed().as_secs_f64());
                metrics::counter!("db_pool_checkout_failures_total", "service" => self.service)
                    .increment(1);
                DbError::PoolTimeout(None)
            })?
            .map_err(|closed| DbError::Task(closed.to_string()))?;
        drop(waiting);
        Ok(Turn {
            _permit: permit,
            asked_at,
            deadline,
        })
    }

    /// Checks a connection out now (blocking), waiting at most until
    /// `deadline` for one.
    pub fn get_until(&self, deadline: Instant) -> Result<PooledConnection<PgConnector>, PoolError> {
        let left = deadline.saturating_duration_since(Instant::now());
        self.connections
            .get_timeout(left.max(Duration::from_millis(1)))
    }

    /// Checks a connection out (blocking) outside the line, waiting at most
    /// the pool's connection timeout: for start-up work before the server
    /// listens, and for the benchmark of PostgreSQL alone.
    pub fn get(&self) -> Result<PooledConnection<PgConnector>, PoolError> {
        self.connections.get()
    }

    /// How long a request may wait for a connection.
    pub fn connection_timeout(&self) -> Duration {
        self.connections.connection_timeout()
    }

    /// The most connections the pool opens.
    pub fn max_size(&self) -> u32 {
        self.connections.max_size()
    }

    /// How many connections are open and how many of them idle.
    pub fn state(&self) -> State {
        self.connections.state()
    }

    /// How many requests are waiting for a turn now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }
}
