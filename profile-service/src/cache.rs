//! The read-through profile cache, kept coherent across replicas.
//!
//! Every change to `profiles` is announced by a trigger with `NOTIFY
//! profile_changed, '<user id>'` in the writer's transaction; each replica's
//! listener (`listener.rs`) evicts the entry as the notification arrives. While
//! that listener is not connected, the cache is emptied and bypassed: a
//! replica never serves from memory what it could have missed news of.
//!
//! The listener also proves it is alive every heartbeat; when it has not
//! for [`STALE_AFTER`] (a link that hangs without failing), the cache is
//! bypassed as well.
//!
//! A read that raced a change must not put the old row back after the
//! eviction: every eviction bumps an epoch (one of [`STRIPES`], chosen by
//! user id), a reader takes a [`Ticket`] (that epoch) before it reads the
//! database, and its row stays in the cache only if no eviction of that
//! stripe happened in between.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use moka::sync::Cache;
use uuid::Uuid;

use crate::config::CacheConfig;
use crate::served::Served;

/// How many epochs evictions are spread over.
pub const STRIPES: usize = 64;

/// How long after the listener's last sign of life the cache is bypassed.
pub const STALE_AFTER: Duration = Duration::from_secs(3);

/// Recently read profiles; see the module documentation.
#[derive(Debug)]
pub struct ProfileCache {
    /// `None` when `PROFILE_CACHE_SIZE=0`.
    entries: Option<Cache<Uuid, Arc<Served>>>,
    epochs: [AtomicU64; STRIPES],
    listening: AtomicBool,
    started: Instant,
    /// Milliseconds after `started` of the listener's last sign of life.
    heard_at: AtomicU64,
}

/// The epoch a reader saw before it went to the database.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

fn stripe(user: Uuid) -> usize {
    // Version 4 ids are random in their low bits.
    (user.as_u128() % STRIPES as u128) as usize
}

impl ProfileCache {
    /// An empty cache, bypassed until [`Self::listening`] says otherwise.
    /// Its help texts are given with the recorder (see [`describe`]).
    pub fn new(config: CacheConfig) -> Self {
        let entries = (config.size > 0).then(|| {
            Cache::builder()
                .max_capacity(config.size)
                .time_to_live(config.ttl)
                .build()
        });
        Self {
            entries,
            epochs: std::array::from_fn(|_| AtomicU64::new(0)),
            listening: AtomicBool::new(false),
            started: Instant::now(),
            heard_at: AtomicU64::new(0),
        }
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether the cache is configured at all (a listener is needed).
    #[cfg(test)]
    pub fn is_enabled(&self) -> bool {
        self.entries.is_some()
    }

    /// The entries, while the listener listens and has shown life lately.
    fn live(&self) -> Option<&Cache<Uuid, Arc<Served>>> {
        let fresh = || {
            let silent = self
                .millis()
                .saturating_sub(self.heard_at.load(Ordering::SeqCst));
            u128::from(silent) <= STALE_AFTER.as_millis()
        };
        self.entries
            .as_ref()
            .filter(|_| self.listening.load(Ordering::SeqCst) && fresh())
    }

    /// The cached profile of `user` as of a token issued at `issued_at`
    /// (an entry older than that token is a miss).
    pub fn get(&self, user: Uuid, issued_at: DateTime<Utc>) -> Option<Arc<Served>> {
        let found = self
            .live()?
            .get(&user)
            .filter(|profile| profile.mirrors(issued_at));
        let lookups = lookups();
        let outcome = if found.is_some() {
            &lookups.hit
        } else {
            &lookups.miss
        };
        outcome.increment(1);
        found
    }

    /// Taken before reading `user`'s profile from the database; `None`
    /// when the cache is not in use (nothing will be stored).
    pub fn ticket(&self, user: Uuid) -> Option<Ticket> {
        self.live()?;
        Some(Ticket(self.epochs[stripe(user)].load(Ordering::SeqCst)))
    }

    /// Keeps `profile` unless an eviction of its stripe happened since
    /// `ticket` was taken (the row may predate that change).
    pub fn insert(&self, ticket: Option<Ticket>, profile: Arc<Served>) {
        let (Some(Ticket(epoch)), Some(entries)) = (ticket, self.live()) else {
            return;
        };
        let user = profile.user_id;
        entries.insert(user, profile);
        // An eviction that ran before the insert bumped the epoch first; one
        // that runs after it removes the entry itself.
        if self.epochs[stripe(user)].load(Ordering::SeqCst) != epoch {
            entries.invalidate(&user);
        }
    }

    /// Forgets `user`'s profile (it changed).
    pub fn evict(&self, user: Uuid) {
        self.epochs[stripe(user)].fetch_add(1, Ordering::SeqCst);
        if let Some(entries) = &self.entries {
            entries.invalidate(&user);
        }
    }

    /// Forgets every profile.
    pub fn evict_all(&self) {
        for epoch in &self.epochs {
            epoch.fetch_add(1, Ordering::SeqCst);
        }
        if let Some(entries) = &self.entries {
            entries.invalidate_all();
        }
    }

    /// Called by the listener after each heartbeat answered (with every
    /// notification before it handled).
    pub fn heard(&self) {
        self.heard_at.store(self.millis(), Ordering::SeqCst);
    }

    /// Called by the listener: `true` once it listens (news of every change
    /// from now on will arrive), `false` when its connection is gone. Both
    /// ways the cache starts empty.
    pub fn listening(&self, listening: bool) {
        if !listening {
            self.listening.store(false, Ordering::SeqCst);
        }
        self.evict_all();
        if listening {
            self.heard();
            self.listening.store(true, Ordering::SeqCst);
        }
        metrics::gauge!("profile_cache_listening", "service" => crate::SERVICE)
            .set(f64::from(u8::from(listening)));
    }
}

/// The two series of `profile_cache_lookups_total`, registered on first
/// use (after start-up has installed the recorder), so a lookup does not
/// build and look up a labelled key each time.
struct Lookups {
    hit: metrics::Counter,
    miss: metrics::Counter,
}

fn lookups() -> &'static Lookups {
    static LOOKUPS: OnceLock<Lookups> = OnceLock::new();
    LOOKUPS.get_or_init(|| {
        let series = |outcome: &'static str| {
            metrics::counter!("profile_cache_lookups_total", "service" => crate::SERVICE, "outcome" => outcome)
        };
        Lookups {
            hit: series("hit"),
            miss: series("miss"),
        }
    })
}

/// Registers the help text of the cache's and the listener's metrics.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge};
    describe_counter!(
        "profile_cache_lookups_total",
        "Profile cache lookups by outcome: hit, or miss (absent, or older than the token)."
    );
    describe_counter!(
        "profile_cache_notifications_total",
        "Profile changes announced by PostgreSQL NOTIFY and evicted."
    );
    describe_gauge!(
        "profile_cache_listening",
        "1 while the listener connection listens (the cache is in use), else 0."
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use super::*;
    use crate::store::profiles::Profile;

    fn cache() -> ProfileCache {
        ProfileCache::new(CacheConfig {
            size: 100,
            ttl: Duration::from_secs(60),
        })
    }

    fn issued() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn profile(user: Uuid, bio: &str) -> Arc<Served> {
        Arc::new(Served::new(Profile {
            user_id: user,
            email: "ada@example.com".into(),
            email_issued_at: issued(),
            display_name: None,
            bio: Some(bio.into()),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }))
    }

    #[test]
    fn nothing_is_served_or_kept_until_the_listener_listens() {
        let cache = cache();
        let user = Uuid::new_v4();
        cache.insert(cache.ticket(user), profile(user, "old"));
        assert!(cache.get(user, issued()).is_none());

        cache.listening(true);
        cache.insert(cache.ticket(user), profile(user, "new"));
        assert_eq!(
            cache.get(user, issued()).unwrap().bio.as_deref(),
            Some("new")
        );

        cache.listening(false);
        assert!(cache.get(user, issued()).is_none());
        cache.listening(true);
        assert!(
            cache.get(user, issued()).is_none(),
            "reconnecting starts empty"
        );
    }

    #[test]
    fn a_read_that_raced_an_eviction_is_not_kept() {
        let cache = cache();
        cache.listening(true);
        let user = Uuid::new_v4();
        let ticket = cache.ticket(user);
        cache.evict(user); // the change committed while the read ran
        cache.insert(ticket, profile(user, "stale"));
        assert!(cache.get(user, issued()).is_none());

        cache.insert(cache.ticket(user), profile(user, "fresh"));
        assert_eq!(
            cache.get(user, issued()).unwrap().bio.as_deref(),
            Some("fresh")
        );
        cache.evict(user);
        assert!(cache.get(user, issued()).is_none());
    }

    #[test]
    fn size_zero_turns_the_cache_off() {
        let cache = ProfileCache::new(CacheConfig {
            size: 0,
            ttl: Duration::from_secs(60),
        });
        cache.listening(true);
        let user = Uuid::new_v4();
        assert!(!cache.is_enabled());
        assert!(cache.ticket(user).is_none());
        cache.insert(Some(Ticket(0)), profile(user, "x"));
        assert!(cache.get(user, issued()).is_none());
    }

    #[test]
    fn an_entry_older_than_the_token_is_a_miss() {
        let cache = cache();
        cache.listening(true);
        let user = Uuid::new_v4();
        cache.insert(cache.ticket(user), profile(user, "x"));
        let newer = issued() + chrono::Duration::seconds(1);
        assert!(cache.get(user, newer).is_none());
        assert!(cache.get(user, issued()).is_some());
    }

    #[test]
    fn an_eviction_of_another_stripe_does_not_cost_a_read_its_insert() {
        let cache = cache();
        cache.listening(true);
        let user = Uuid::from_u128(1);
        let other = Uuid::from_u128(2);
        let ticket = cache.ticket(user);
        cache.evict(other);
        cache.insert(ticket, profile(user, "kept"));
        assert!(cache.get(user, issued()).is_some());
    }
}
