//! The one bounded gate every password hash goes through (signup, login,
//! the dummy verification of unknown emails, rehash): `HASH_CONCURRENCY`
//! hashes at once, at most `HASH_QUEUE_MAX` requests waiting, none longer
//! than `HASH_QUEUE_TIMEOUT_MS`, and no client network holding more than
//! a quarter of the waiting places (at least one), so one client's storm
//! cannot shed everyone else. A request that cannot get in is shed at
//! once (503 with `Retry-After`) instead of making every login slower.
//!
//! A waiting place belongs to the request's future: when the client goes
//! away, actix drops that future and the place is given back, and the
//! request never hashes. A hash that has started runs to its end.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Why a request was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Shed {
    #[error("the hashing queue is full")]
    QueueFull,
    #[error("the client network holds its share of the hashing queue")]
    ClientShare,
    #[error("waited too long for a hashing slot")]
    TimedOut,
}

/// Who waits: in all, and per client network.
#[derive(Debug, Default)]
struct Queue {
    waiting: usize,
    by_client: HashMap<IpAddr, usize>,
}

/// The gate.
pub struct HashGate {
    permits: Arc<Semaphore>,
    concurrency: usize,
    queue: Mutex<Queue>,
    queue_max: usize,
    per_client: usize,
    timeout: Duration,
}

/// A waiting place, given back when dropped: when the request got its
/// slot, timed out, or was dropped because its client went away.
struct Place<'a> {
    gate: &'a HashGate,
    client: IpAddr,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        let mut queue = self.gate.queue();
        queue.waiting = queue.waiting.saturating_sub(1);
        if let Some(held) = queue.by_client.get_mut(&self.client) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                queue.by_client.remove(&self.client);
            }
        }
        drop(queue);
        self.gate.report();
    }
}

impl HashGate {
    /// `concurrency` slots, `queue_max` waiting places (a quarter of them,
    /// rounded up, per client network), `timeout` the longest wait.
    pub fn new(concurrency: usize, queue_max: usize, timeout: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            concurrency,
            queue: Mutex::default(),
            queue_max,
            per_client: queue_max.div_ceil(4).max(1),
            timeout,
        }
    }

    /// A hashing slot for a request from `client` (its network), held
    /// until the permit is dropped (move it into the blocking task, so a
    /// client that goes away does not free a slot whose hash still runs).
    pub async fn enter(&self, client: IpAddr) -> Result<OwnedSemaphorePermit, Shed> {
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            self.report();
            return Ok(permit);
        }
        let place = self.take_place(client)?;
        self.report();
        let acquire = Arc::clone(&self.permits).acquire_owned();
        let acquired = tokio::time::timeout(self.timeout, acquire).await;
        drop(place);
        match acquired {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => Err(Shed::TimedOut),
        }
    }

    fn take_place(&self, client: IpAddr) -> Result<Place<'_>, Shed> {
        let mut queue = self.queue();
        if queue.waiting >= self.queue_max {
            return Err(Shed::QueueFull);
        }
        let held = queue.by_client.entry(client).or_default();
        if *held >= self.per_client {
            return Err(Shed::ClientShare);
        }
        *held += 1;
        queue.waiting += 1;
        Ok(Place { gate: self, client })
    }

    /// Whether a request from `client` arriving now would be shed at once
    /// (every slot busy, and the queue or the client's share of it full):
    /// callers check it before any other work, so a storm's excess is
    /// answered in milliseconds.
    pub fn is_full_for(&self, client: IpAddr) -> bool {
        if self.permits.available_permits() > 0 {
            return false;
        }
        let queue = self.queue();
        queue.waiting >= self.queue_max
            || queue.by_client.get(&client).copied().unwrap_or(0) >= self.per_client
    }

    /// How many requests wait now.
    pub fn waiting(&self) -> usize {
        self.queue().waiting
    }

    /// Publishes the queue length and the permits in use.
    pub fn report(&self) {
        let waiting = self.waiting();
        let in_use = self
            .concurrency
            .saturating_sub(self.permits.available_permits());
        metrics::gauge!("auth_hash_gate_waiting", "service" => crate::SERVICE).set(waiting as f64);
        metrics::gauge!("auth_hash_gate_in_use", "service" => crate::SERVICE).set(in_use as f64);
    }

    /// The queue, even if a thread panicked holding it (its counts are
    /// updated in single steps, so they are whole).
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests;
