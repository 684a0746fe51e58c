//! The read-through profile cache, kept coherent across replicas.
//!
//! Every change to `profiles` is announced by a trigger with `NOTIFY
//! profile_changed, '<user id>'` in the writer's transaction; each replica's
//! [`crate::listener`] evicts the entry as the notification arrives. While
//! that listener is not connected, the cache is emptied and bypassed: a
//! replica never serves from memory what it could have missed news of.
//!
//! A read that raced a change must not put the old row back after the
//! eviction: every eviction bumps an epoch, a reader takes a [`Ticket`]
//! (the epoch) before it reads the database, and its row stays in the
//! cache only if no eviction happened in between.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use moka::sync::Cache;
use uuid::Uuid;

use crate::config::CacheConfig;
use crate::store::profiles::Profile;

/// Recently read profiles; see the module documentation.
#[derive(Debug)]
pub struct ProfileCache {
    /// `None` when `PROFILE_CACHE_SIZE=0`.
    entries: Option<Cache<Uuid, Arc<Profile>>>,
    epoch: AtomicU64,
    listening: AtomicBool,
}

/// The epoch a reader saw before it went to the database.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

impl ProfileCache {
    /// An empty cache, bypassed until [`Self::listening`] says otherwise.
    pub fn new(config: CacheConfig) -> Self {
        let entries = (config.size > 0).then(|| {
            Cache::builder()
                .max_capacity(config.size)
                .time_to_live(config.ttl)
                .build()
        });
        Self {
            entries,
            epoch: AtomicU64::new(0),
            listening: AtomicBool::new(false),
        }
    }

    /// Whether the cache is configured at all (a listener is needed).
    pub fn is_enabled(&self) -> bool {
        self.entries.is_some()
    }

    fn live(&self) -> Option<&Cache<Uuid, Arc<Profile>>> {
        self.entries
            .as_ref()
            .filter(|_| self.listening.load(Ordering::SeqCst))
    }

    /// The cached profile of `user`, if the cache is in use and has it.
    pub fn get(&self, user: Uuid) -> Option<Arc<Profile>> {
        let found = self.live()?.get(&user);
        let outcome = if found.is_some() { "hit" } else { "miss" };
        metrics::counter!("profile_cache_lookups_total", "outcome" => outcome).increment(1);
        found
    }

    /// Taken before reading the database; `None` when the cache is not in
    /// use (nothing will be stored).
    pub fn ticket(&self) -> Option<Ticket> {
        self.live()?;
        Some(Ticket(self.epoch.load(Ordering::SeqCst)))
    }

    /// Keeps `profile` unless an eviction happened since `ticket` was
    /// taken (the row may predate that change).
    pub fn insert(&self, ticket: Option<Ticket>, profile: Arc<Profile>) {
        let (Some(Ticket(epoch)), Some(entries)) = (ticket, self.live()) else {
            return;
        };
        let user = profile.user_id;
        entries.insert(user, profile);
        // An eviction that ran before the insert bumped the epoch first; one
        // that runs after it removes the entry itself.
        if self.epoch.load(Ordering::SeqCst) != epoch {
            entries.invalidate(&user);
        }
    }

    /// Forgets `user`'s profile (it changed).
    pub fn evict(&self, user: Uuid) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        if let Some(entries) = &self.entries {
            entries.invalidate(&user);
        }
    }

    /// Forgets every profile.
    pub fn evict_all(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        if let Some(entries) = &self.entries {
            entries.invalidate_all();
        }
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
            self.listening.store(true, Ordering::SeqCst);
        }
        metrics::gauge!("profile_cache_listening").set(f64::from(u8::from(listening)));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use chrono::Utc;

    use super::*;

    fn cache() -> ProfileCache {
        ProfileCache::new(CacheConfig {
            size: 100,
            ttl: Duration::from_secs(60),
        })
    }

    fn profile(user: Uuid, bio: &str) -> Arc<Profile> {
        Arc::new(Profile {
            user_id: user,
            email: "ada@example.com".into(),
            email_issued_at: Utc::now(),
            display_name: None,
            bio: Some(bio.into()),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        })
    }

    #[test]
    fn nothing_is_served_or_kept_until_the_listener_listens() {
        let cache = cache();
        let user = Uuid::new_v4();
        cache.insert(cache.ticket(), profile(user, "old"));
        assert!(cache.get(user).is_none());

        cache.listening(true);
        cache.insert(cache.ticket(), profile(user, "new"));
        assert_eq!(cache.get(user).unwrap().bio.as_deref(), Some("new"));

        cache.listening(false);
        assert!(cache.get(user).is_none());
        cache.listening(true);
        assert!(cache.get(user).is_none(), "reconnecting starts empty");
    }

    #[test]
    fn a_read_that_raced_an_eviction_is_not_kept() {
        let cache = cache();
        cache.listening(true);
        let user = Uuid::new_v4();
        let ticket = cache.ticket();
        cache.evict(user); // the change committed while the read ran
        cache.insert(ticket, profile(user, "stale"));
        assert!(cache.get(user).is_none());

        cache.insert(cache.ticket(), profile(user, "fresh"));
        assert_eq!(cache.get(user).unwrap().bio.as_deref(), Some("fresh"));
        cache.evict(user);
        assert!(cache.get(user).is_none());
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
        assert!(cache.ticket().is_none());
        cache.insert(Some(Ticket(0)), profile(user, "x"));
        assert!(cache.get(user).is_none());
    }
}
