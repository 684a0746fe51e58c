//! The one bounded gate every password hash goes through (signup, login,
//! the dummy verification of unknown emails, rehash): `HASH_CONCURRENCY`
//! hashes at once, at most `HASH_QUEUE_MAX` requests waiting, none longer
//! than `HASH_QUEUE_TIMEOUT_MS`. A request that cannot get in is shed at
//! once (503 with `Retry-After`) instead of making every login slower.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Why a request was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Shed {
    #[error("the hashing queue is full")]
    QueueFull,
    #[error("waited too long for a hashing slot")]
    TimedOut,
}

/// The gate.
pub struct HashGate {
    permits: Arc<Semaphore>,
    concurrency: usize,
    waiting: AtomicUsize,
    queue_max: usize,
    timeout: Duration,
}

impl HashGate {
    pub fn new(concurrency: usize, queue_max: usize, timeout: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            concurrency,
            waiting: AtomicUsize::new(0),
            queue_max,
            timeout,
        }
    }

    /// A hashing slot, held until the permit is dropped (move it into the
    /// blocking task, so a client that goes away does not free a slot
    /// whose hash still runs).
    pub async fn enter(&self) -> Result<OwnedSemaphorePermit, Shed> {
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            self.report();
            return Ok(permit);
        }
        let ahead = self.waiting.fetch_add(1, Ordering::SeqCst);
        let waited = if ahead >= self.queue_max {
            Err(Shed::QueueFull)
        } else {
            self.report();
            let acquire = Arc::clone(&self.permits).acquire_owned();
            match tokio::time::timeout(self.timeout, acquire).await {
                Ok(Ok(permit)) => Ok(permit),
                Ok(Err(_)) | Err(_) => Err(Shed::TimedOut),
            }
        };
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        self.report();
        waited
    }

    /// Whether a request arriving now would be shed at once (every slot
    /// busy, the queue full): callers check it before any other work, so a
    /// storm's excess is answered in milliseconds.
    pub fn is_full(&self) -> bool {
        self.permits.available_permits() == 0
            && self.waiting.load(Ordering::SeqCst) >= self.queue_max
    }

    /// Publishes the queue length and the permits in use.
    pub fn report(&self) {
        let waiting = self.waiting.load(Ordering::SeqCst);
        let in_use = self
            .concurrency
            .saturating_sub(self.permits.available_permits());
        metrics::gauge!("auth_hash_gate_waiting", "service" => crate::SERVICE).set(waiting as f64);
        metrics::gauge!("auth_hash_gate_in_use", "service" => crate::SERVICE).set(in_use as f64);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn past_the_queue_requests_are_shed_at_once_and_waiters_time_out() {
        let gate = Arc::new(HashGate::new(1, 1, Duration::from_millis(200)));
        let held = gate.enter().await.unwrap();
        let waiter = {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move { gate.enter().await.map(drop) })
        };
        while gate.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.enter().await.err(), Some(Shed::QueueFull));
        assert_eq!(waiter.await.unwrap(), Err(Shed::TimedOut));
        drop(held);
        assert!(gate.enter().await.is_ok());
    }
}
