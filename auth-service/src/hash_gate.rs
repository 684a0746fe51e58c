//! The one bounded gate every password hash goes through (signup, login,
//! the dummy verification of unknown emails, rehash): `HASH_CONCURRENCY`
//! hashes at once, at most `HASH_QUEUE_MAX` requests waiting, none longer
//! than `HASH_QUEUE_TIMEOUT_MS`. A request that cannot get in is shed at
//! once (503 with `Retry-After`) instead of making every login slower.
//!
//! Fair to each client network: one holds at most a quarter of the
//! waiting places (at least one), and a freed slot goes to the client
//! networks in turn, oldest request first within each, so one network's
//! storm neither fills the queue nor stands in front of everyone else.
//!
//! A waiting place belongs to the request's future: when the client goes
//! away, actix drops that future, the place is given back, and the
//! request never hashes. A hash that has started runs to its end.
//!
//! A login takes its [`Turn`] (a slot, or a place in line) before any
//! database work and waits for the slot only when it is ready to hash: a
//! storm's excess then finds the gate full and is answered 503 without a
//! single statement, even when the whole storm arrives at once.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

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

/// The gate.
pub struct HashGate {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    concurrency: usize,
    queue_max: usize,
    per_client: usize,
    timeout: Duration,
}

/// Free slots and who waits, per client network, with whose turn is next.
#[derive(Default)]
struct State {
    free: usize,
    waiting: usize,
    queues: HashMap<IpAddr, VecDeque<Waiter>>,
    /// The networks that have someone waiting, in the order of their turns.
    turns: VecDeque<IpAddr>,
    next_id: u64,
}

struct Waiter {
    id: u64,
    wake: oneshot::Sender<Slot>,
}

/// A hashing slot, held until dropped; then it goes to the next waiter.
/// Move it into the blocking task, so a client that goes away does not
/// free a slot whose hash still runs.
pub struct Slot {
    shared: Arc<Shared>,
    /// False for a slot its waiter was gone before it came: the hand-on
    /// loop passes it on itself.
    armed: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.armed {
            hand_on(&self.shared);
        }
    }
}

/// Gives a freed slot to the next network's oldest waiter, or frees it.
fn hand_on(shared: &Arc<Shared>) {
    loop {
        let next = {
            let mut state = shared.state();
            match state.next_waiter() {
                Some(waiter) => waiter,
                None => {
                    state.free += 1;
                    break;
                }
            }
        };
        let slot = Slot {
            shared: Arc::clone(shared),
            armed: true,
        };
        // Sent outside the lock: a slot that comes back (its waiter just
        // went away) is passed on by this loop, not by its own drop.
        match next.wake.send(slot) {
            Ok(()) => break,
            Err(mut unwanted) => unwanted.armed = false,
        }
    }
    shared.report();
}

impl State {
    /// The oldest waiter of the network whose turn it is; that network
    /// goes to the back of the turns if it has more waiting.
    fn next_waiter(&mut self) -> Option<Waiter> {
        while let Some(client) = self.turns.pop_front() {
            let Some(queue) = self.queues.get_mut(&client) else {
                continue;
            };
            let waiter = queue.pop_front();
            if queue.is_empty() {
                self.queues.remove(&client);
            } else {
                self.turns.push_back(client);
            }
            if let Some(waiter) = waiter {
                self.waiting -= 1;
                return Some(waiter);
            }
        }
        None
    }

    /// Takes waiter `id` of `client` out of line, if it is still in it.
    fn leave(&mut self, client: IpAddr, id: u64) {
        let Some(queue) = self.queues.get_mut(&client) else {
            return;
        };
        let before = queue.len();
        queue.retain(|waiter| waiter.id != id);
        self.waiting -= before - queue.len();
        if queue.is_empty() {
            self.queues.remove(&client);
            self.turns.retain(|turn| *turn != client);
        }
    }

    fn held_by(&self, client: IpAddr) -> usize {
        self.queues.get(&client).map_or(0, VecDeque::len)
    }
}

/// A request's place in line, given back when dropped: when the request
/// got its slot, timed out, or was dropped because its client went away.
struct Place {
    shared: Arc<Shared>,
    client: IpAddr,
    id: u64,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.shared.state().leave(self.client, self.id);
        self.shared.report();
    }
}

/// A request's turn at the gate: a slot already, or a place in line whose
/// slot comes through `woken`. Dropped, it gives either back.
pub struct Turn {
    inner: TurnInner,
}

enum TurnInner {
    Slot(Slot),
    Waiting {
        place: Place,
        woken: oneshot::Receiver<Slot>,
        deadline: Instant,
    },
}

impl Turn {
    /// The slot: at once if the turn holds one, else when it comes, up to
    /// `HASH_QUEUE_TIMEOUT_MS` after the turn was taken.
    pub async fn slot(self) -> Result<Slot, Shed> {
        match self.inner {
            TurnInner::Slot(slot) => Ok(slot),
            TurnInner::Waiting {
                place,
                woken,
                deadline,
            } => {
                let outcome = tokio::time::timeout_at(deadline, woken).await;
                drop(place);
                match outcome {
                    Ok(Ok(slot)) => Ok(slot),
                    Ok(Err(_)) | Err(_) => Err(Shed::TimedOut),
                }
            }
        }
    }
}

impl HashGate {
    /// `concurrency` slots, `queue_max` waiting places (a quarter of them,
    /// rounded up, per client network), `timeout` the longest wait.
    pub fn new(concurrency: usize, queue_max: usize, timeout: Duration) -> Self {
        let state = State {
            free: concurrency,
            ..State::default()
        };
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                concurrency,
                queue_max,
                per_client: queue_max.div_ceil(4).max(1),
                timeout,
            }),
        }
    }

    /// A hashing slot for a request from `client` (its network), waited
    /// for at once (the services take a [`Turn`] first, then its slot).
    #[cfg(test)]
    pub async fn enter(&self, client: IpAddr) -> Result<Slot, Shed> {
        self.take_turn(client)?.slot().await
    }

    /// A turn for a request from `client`, taken at once or refused at
    /// once: a free slot, else a place in line (if the queue and the
    /// client's share of it have room). Take it before the request's other
    /// work; [`Turn::slot`] waits for the slot once it is time to hash.
    pub fn take_turn(&self, client: IpAddr) -> Result<Turn, Shed> {
        let shared = &self.shared;
        let turn = {
            let mut state = shared.state();
            if state.free > 0 {
                state.free -= 1;
                TurnInner::Slot(Slot {
                    shared: Arc::clone(shared),
                    armed: true,
                })
            } else {
                if state.waiting >= shared.queue_max {
                    return Err(Shed::QueueFull);
                }
                if state.held_by(client) >= shared.per_client {
                    return Err(Shed::ClientShare);
                }
                let (wake, woken) = oneshot::channel();
                let id = state.next_id;
                state.next_id += 1;
                let queue = state.queues.entry(client).or_default();
                queue.push_back(Waiter { id, wake });
                if queue.len() == 1 {
                    state.turns.push_back(client);
                }
                state.waiting += 1;
                let place = Place {
                    shared: Arc::clone(shared),
                    client,
                    id,
                };
                TurnInner::Waiting {
                    place,
                    woken,
                    deadline: Instant::now() + shared.timeout,
                }
            }
        };
        shared.report();
        Ok(Turn { inner: turn })
    }

    /// Whether a request from `client` arriving now would be shed at once
    /// (every slot busy, and the queue or the client's share of it full):
    /// callers check it before any other work, so a storm's excess is
    /// answered in milliseconds.
    pub fn is_full_for(&self, client: IpAddr) -> bool {
        let state = self.shared.state();
        state.free == 0
            && (state.waiting >= self.shared.queue_max
                || state.held_by(client) >= self.shared.per_client)
    }

    /// How many requests wait now.
    #[cfg(test)]
    pub fn waiting(&self) -> usize {
        self.shared.state().waiting
    }

    /// How many slots are taken now.
    #[cfg(test)]
    pub fn in_use(&self) -> usize {
        let free = self.shared.state().free;
        self.shared.concurrency.saturating_sub(free)
    }

    /// Publishes the queue length and the slots in use.
    pub fn report(&self) {
        self.shared.report();
    }
}

impl Shared {
    /// The state, even if a thread panicked holding it (each change is
    /// made whole before the lock is let go).
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn report(&self) {
        let (waiting, free) = {
            let state = self.state();
            (state.waiting, state.free)
        };
        let in_use = self.concurrency.saturating_sub(free);
        metrics::gauge!("auth_hash_gate_waiting", "service" => crate::SERVICE).set(waiting as f64);
        metrics::gauge!("auth_hash_gate_in_use", "service" => crate::SERVICE).set(in_use as f64);
    }
}

#[cfg(test)]
mod tests;
