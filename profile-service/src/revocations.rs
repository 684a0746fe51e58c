//! The replica's revocation set: which access tokens the auth service's
//! events took back, held in memory so the bearer check makes no database
//! round trip. Filled from `revoked_*` at start-up and whenever the
//! listener (re)connects, and kept current by the notifications every
//! receiver sends when it stores an event (`listener.rs`). Entries go once
//! the tokens they cover would have expired anyway ([`Revocations::sweep`]).

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use shared::claims::AccessClaims;
use uuid::Uuid;

/// How long a replica that listens for events waits, after it started,
/// for the auth service's `events.caught_up` before it says it is ready
/// anyway (the auth service may be down too).
pub const CATCH_UP_WAIT: Duration = Duration::from_secs(15);

/// One revocation, as stored and as announced (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// Tokens with this `sid`.
    Session { session: Uuid, expires: i64 },
    /// Tokens of `user` issued before `before` (every one if `deleted`).
    User {
        user: Uuid,
        before: Option<i64>,
        deleted: bool,
        expires: i64,
    },
}

/// What one user's events left: merged, the latest of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct UserCut {
    before: Option<i64>,
    deleted: bool,
    expires: i64,
}

#[derive(Debug, Default)]
struct Entries {
    sessions: HashMap<Uuid, i64>,
    users: HashMap<Uuid, UserCut>,
}

/// The set; see the module documentation.
#[derive(Debug)]
pub struct Revocations {
    entries: RwLock<Entries>,
    /// Whether events are expected at all (`EVENT_SECRET` set).
    events_on: bool,
    caught_up: AtomicBool,
    started: Instant,
}

impl Revocations {
    pub fn new(events_on: bool) -> Self {
        Self {
            entries: RwLock::default(),
            events_on,
            caught_up: AtomicBool::new(false),
            started: Instant::now(),
        }
    }

    /// Whether `claims` were revoked: their session, or their user before
    /// they were issued, or their user altogether.
    pub fn refuses(&self, claims: &AccessClaims) -> bool {
        let entries = self
            .entries
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.sessions.contains_key(&claims.sid) {
            return true;
        }
        entries
            .users
            .get(&claims.sub)
            .is_some_and(|cut| cut.deleted || cut.before.is_some_and(|before| claims.iat < before))
    }

    /// Adds `revocation` (merging a user's with what is there).
    pub fn apply(&self, revocation: Revocation) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        apply(&mut entries, revocation);
        drop(entries);
        self.report();
    }

    /// Replaces the whole set with `all` (read from the database).
    pub fn replace_all(&self, all: Vec<Revocation>) {
        let mut fresh = Entries::default();
        for revocation in all {
            apply(&mut fresh, revocation);
        }
        *self
            .entries
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = fresh;
        self.report();
    }

    /// Drops the entries whose tokens have all expired by `now`.
    pub fn sweep(&self, now: i64) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.sessions.retain(|_, expires| *expires > now);
        entries.users.retain(|_, cut| cut.expires > now);
        drop(entries);
        self.report();
    }

    /// How many sessions and users the set holds.
    pub fn len(&self) -> (usize, usize) {
        let entries = self
            .entries
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (entries.sessions.len(), entries.users.len())
    }

    /// The auth service said every event for us has been delivered.
    pub fn caught_up(&self) {
        if !self.caught_up.swap(true, Ordering::SeqCst) {
            tracing::info!("caught up with the auth service's events");
        }
    }

    /// `Err` with the reason while this replica may still miss events
    /// written while it was down: events are on, no `events.caught_up` has
    /// arrived yet, and [`CATCH_UP_WAIT`] has not passed.
    pub fn readiness(&self) -> Result<(), &'static str> {
        if !self.events_on || self.caught_up.load(Ordering::SeqCst) {
            return Ok(());
        }
        if self.started.elapsed() >= CATCH_UP_WAIT {
            if !self.caught_up.swap(true, Ordering::SeqCst) {
                tracing::warn!(
                    wait = ?CATCH_UP_WAIT,
                    "no events.caught_up from the auth service; ready without it"
                );
            }
            return Ok(());
        }
        Err("Waiting for the auth service's events since the last start.")
    }

    fn report(&self) {
        let (sessions, users) = self.len();
        metrics::gauge!("profile_revoked_sessions", "service" => crate::SERVICE)
            .set(sessions as f64);
        metrics::gauge!("profile_revoked_users", "service" => crate::SERVICE).set(users as f64);
    }
}

fn apply(entries: &mut Entries, revocation: Revocation) {
    match revocation {
        Revocation::Session { session, expires } => {
            let held = entries.sessions.entry(session).or_insert(expires);
            *held = (*held).max(expires);
        }
        Revocation::User {
            user,
            before,
            deleted,
            expires,
        } => {
            let cut = entries.users.entry(user).or_insert(UserCut {
                before,
                deleted,
                expires,
            });
            cut.before = cut.before.max(before);
            cut.deleted |= deleted;
            cut.expires = cut.expires.max(expires);
        }
    }
}

impl Revocation {
    /// The notification payload that tells the other replicas.
    pub fn to_payload(self) -> String {
        match self {
            Self::Session { session, expires } => format!("r:s:{session}:{expires}"),
            Self::User {
                user,
                before,
                deleted,
                expires,
            } => format!(
                "r:u:{user}:{}:{}:{expires}",
                before.map_or_else(|| "-".to_owned(), |b| b.to_string()),
                u8::from(deleted)
            ),
        }
    }

    /// Reads a payload [`Self::to_payload`] wrote.
    pub fn from_payload(payload: &str) -> Option<Self> {
        let rest = payload.strip_prefix("r:")?;
        let parts: Vec<&str> = rest.split(':').collect();
        match parts.as_slice() {
            ["s", session, expires] => Some(Self::Session {
                session: session.parse().ok()?,
                expires: expires.parse().ok()?,
            }),
            ["u", user, before, deleted, expires] => Some(Self::User {
                user: user.parse().ok()?,
                before: match *before {
                    "-" => None,
                    before => Some(before.parse().ok()?),
                },
                deleted: match *deleted {
                    "0" => false,
                    "1" => true,
                    _ => return None,
                },
                expires: expires.parse().ok()?,
            }),
            _ => None,
        }
    }
}

/// Registers the gauges' help texts.
pub fn describe() {
    metrics::describe_gauge!(
        "profile_revoked_sessions",
        "Revoked sessions this replica refuses tokens of (in memory)."
    );
    metrics::describe_gauge!(
        "profile_revoked_users",
        "Users this replica refuses some or all tokens of (in memory)."
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use shared::claims::TokenType;

    use super::*;

    fn token(user: Uuid, session: Uuid, iat: i64) -> AccessClaims {
        AccessClaims {
            sub: user,
            email: "ada@example.com".into(),
            email_verified: true,
            iat,
            exp: iat + 1800,
            iss: "auth-service".into(),
            aud: "profile-service".into(),
            jti: Uuid::new_v4(),
            sid: session,
            typ: TokenType::Access,
            amr: Vec::new(),
            mfa: false,
        }
    }

    #[test]
    fn refuses_exactly_what_was_revoked() {
        let set = Revocations::new(false);
        let (ada, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let (s1, s2) = (Uuid::new_v4(), Uuid::new_v4());
        set.apply(Revocation::Session {
            session: s1,
            expires: 2000,
        });
        assert!(set.refuses(&token(ada, s1, 100)));
        assert!(!set.refuses(&token(ada, s2, 100)));
        set.apply(Revocation::User {
            user: ada,
            before: Some(500),
            deleted: false,
            expires: 2300,
        });
        assert!(set.refuses(&token(ada, s2, 499)));
        assert!(!set.refuses(&token(ada, s2, 500)), "issued at the cut-off");
        // An older cut-off arriving late does not move it back.
        set.apply(Revocation::User {
            user: ada,
            before: Some(300),
            deleted: false,
            expires: 2100,
        });
        assert!(set.refuses(&token(ada, s2, 400)));
        assert!(!set.refuses(&token(bob, s2, 100)));
        set.apply(Revocation::User {
            user: bob,
            before: None,
            deleted: true,
            expires: 9000,
        });
        assert!(set.refuses(&token(bob, s2, 8000)));
        set.sweep(2200);
        assert!(!set.refuses(&token(ada, s1, 600)), "session entry expired");
        assert!(set.refuses(&token(ada, s2, 400)), "user entry kept to 2300");
        set.sweep(2300);
        assert_eq!(set.len(), (0, 1));
    }

    #[test]
    fn payloads_round_trip_and_nonsense_is_none() {
        for revocation in [
            Revocation::Session {
                session: Uuid::new_v4(),
                expires: 1_765_000_000,
            },
            Revocation::User {
                user: Uuid::new_v4(),
                before: Some(1_765_000_000),
                deleted: false,
                expires: 1_765_001_800,
            },
            Revocation::User {
                user: Uuid::new_v4(),
                before: None,
                deleted: true,
                expires: 1_765_086_400,
            },
        ] {
            assert_eq!(
                Revocation::from_payload(&revocation.to_payload()),
                Some(revocation)
            );
        }
        for nonsense in [
            "",
            "r:",
            "r:s:x:1",
            "r:u:8b7c2c1e-0a4e-4c43-9b1a-3f1f9b0f1c2d:-:2:1",
            "*",
        ] {
            assert_eq!(Revocation::from_payload(nonsense), None, "{nonsense}");
        }
    }

    #[test]
    fn not_ready_until_caught_up_when_events_are_on() {
        assert!(Revocations::new(false).readiness().is_ok());
        let set = Revocations::new(true);
        assert!(set.readiness().is_err());
        set.caught_up();
        assert!(set.readiness().is_ok());
    }
}
