//! What the load saw, counted by phase, client kind, request and status:
//! shared by every client and read by the test to decide when to move on.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use crate::support::client::Reply;

use super::requests::is_unavailable;

/// The phases of a test, as the counts name them; the constants below
/// index it.
pub(super) const PHASES: [&str; 5] = ["before", "fault", "recovering", "after", "verify"];
pub(super) const FAULT: usize = 1;
pub(super) const RECOVERING: usize = 2;
pub(super) const AFTER: usize = 3;
pub(super) const VERIFY: usize = 4;

/// (phase, client kind, request, status or `transport`).
pub(super) type Key = (&'static str, &'static str, &'static str, String);

/// What the load saw, shared by the clients and the test.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) phase: AtomicUsize,
    /// Successes of the load's own clients (not victims, probes, checks).
    acked: AtomicUsize,
    pub(super) in_flight: AtomicUsize,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    counts: BTreeMap<Key, usize>,
    slowest: BTreeMap<&'static str, Duration>,
    unexpected: Vec<String>,
}

impl Tally {
    pub(super) fn set_phase(&self, phase: usize) {
        self.phase.store(phase, SeqCst);
    }

    pub(super) fn acked(&self) -> usize {
        self.acked.load(SeqCst)
    }

    pub(super) fn record(&self, key: Key, reply: &Result<Reply, String>, took: Duration) {
        let mut seen = self.seen.lock().unwrap();
        match reply {
            Ok(reply) if reply.status.is_success() => {
                self.acked.fetch_add(usize::from(key.1 == "load"), SeqCst);
            }
            Ok(reply) if !is_unavailable(reply) => {
                let (phase, who, op, status) = &key;
                let body = &reply.body;
                seen.unexpected
                    .push(format!("{phase} {who} {op}: {status} {body}"));
            }
            _ => {}
        }
        let slowest = seen.slowest.entry(key.0).or_default();
        *slowest = took.max(*slowest);
        *seen.counts.entry(key).or_default() += 1;
    }

    /// How many requests matched.
    pub(super) fn count(&self, matches: impl Fn(&Key) -> bool) -> usize {
        let seen = self.seen.lock().unwrap();
        seen.counts
            .iter()
            .filter(|(k, _)| matches(k))
            .map(|(_, n)| n)
            .sum()
    }

    pub(super) fn slowest(&self) -> Duration {
        let seen = self.seen.lock().unwrap();
        seen.slowest.values().copied().max().unwrap_or_default()
    }

    /// Prints every count; hands back the unexpected replies and how
    /// many requests got no reply at all.
    pub(super) fn print(&self, test: &str) -> (Vec<String>, usize) {
        let seen = self.seen.lock().unwrap();
        for ((phase, who, op, status), n) in &seen.counts {
            eprintln!("{test}: {phase:>10} {who:>6} {op:<8} {status:>9}: {n}");
        }
        let slowest: Vec<String> = (seen.slowest.iter())
            .map(|(p, d)| format!("{p} {d:.2?}"))
            .collect();
        eprintln!("{test}: slowest reply by phase: {}", slowest.join(", "));
        let sum = |status: &str| -> usize {
            (seen.counts.iter())
                .filter(|(k, _)| k.3 == status)
                .map(|(_, n)| n)
                .sum()
        };
        let (unavailable, transport) = (sum("503"), sum("transport"));
        let unexpected = seen.unexpected.len();
        eprintln!("{test}: 503s {unavailable}, no reply {transport}, unexpected {unexpected}");
        (seen.unexpected.clone(), transport)
    }
}
