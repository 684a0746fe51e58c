//! The rows the scale run loads, each a pure function of its index (and a
//! salt), so the table writers can run side by side and the load
//! generator can name a user, a session or a live refresh token without
//! keeping a million rows in memory.
//!
//! Shapes follow the schema and what the services do to it: distinct
//! emails (some non-ASCII, with their confusable skeleton), one bcrypt
//! hash at cost 4 shared by every account, one profile per user, 1–3
//! sessions per user, each a chain of 1–5 refresh tokens (all but the last
//! used), some revoked by a logout, some expired within the last day (the
//! services delete a session only a day after it expired); networks each
//! user logged in from; login back-off counters of the last day.

use auth_service::testing::{TokenSigner, fingerprint};
use uuid::Uuid;

pub use super::dice::Dice;

/// Seconds in a day.
pub const DAY: i64 = 86_400;

const USER: u64 = 1;
const SESSIONS: u64 = 2;
const NETWORKS: u64 = 3;
const PROFILE: u64 = 4;
const BACKLOG: u64 = 5;

const FIRST: &[&str] = &[
    "ada", "alan", "grace", "linus", "margaret", "edsger", "barbara", "ken", "dennis", "frances",
    "zoë", "josé", "søren", "renée", "jürgen", "ana", "łukasz", "mei", "yuki", "olga", "kim",
    "ngozi", "priya", "omar",
];
const LAST: &[&str] = &[
    "lovelace",
    "turing",
    "hopper",
    "torvalds",
    "hamilton",
    "dijkstra",
    "liskov",
    "thompson",
    "ritchie",
    "allen",
    "müller",
    "garcía",
    "kierkegaard",
    "nuñez",
    "çelik",
    "novak",
    "nakamura",
    "ivanova",
    "okafor",
    "sharma",
    "haddad",
    "larsen",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "mail.example.net",
    "example.co.uk",
    "uni.example.edu",
    "corp.example.io",
];

/// How a stored session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Live,
    /// Logged out: revoked, kept until a day after it expires.
    Revoked,
    /// Expired within the last day: not yet for the sweep.
    Expired,
    /// Expired more than a day ago: what the login sweep deletes.
    Backlog,
}

/// One stored refresh token.
pub struct TokenRow {
    pub id: Uuid,
    pub parent: Option<Uuid>,
    pub hash: [u8; 32],
    pub issued_at: i64,
    pub used_at: Option<i64>,
}

/// One stored session with its chain of refresh tokens, oldest first.
pub struct SessionRow {
    pub id: Uuid,
    pub user: u64,
    pub state: State,
    pub created_at: i64,
    pub refreshed_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub expires_at: i64,
    pub tokens: Vec<TokenRow>,
}

/// A user's row, as much of it as the tables and the load need.
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub created_at: i64,
}

/// The whole data set: who exists, and which sessions the refresh
/// measurement may use (`sample`: their first session is live and its
/// newest token's hash is a real one, so the token can be presented).
pub struct Model {
    pub now: i64,
    pub password_hash: String,
    pub signer: TokenSigner,
    /// How long a refresh token lives, in seconds: the services'
    /// `REFRESH_TOKEN_EXPIRE_MINUTES`, read from the same config.
    pub refresh_ttl: i64,
    /// `[start, end, stride)`: users `start + k·stride` are samples.
    pub samples: Vec<(u64, u64, u64)>,
}

impl Model {
    /// Whether user `i`'s first session is one the refresh run presents.
    pub fn is_sample(&self, i: u64) -> bool {
        self.samples.iter().any(|&(start, end, stride)| {
            (start..end).contains(&i) && (i - start).is_multiple_of(stride)
        })
    }

    pub fn user(&self, i: u64) -> UserRow {
        let mut dice = Dice::new(i, USER);
        let id = dice.uuid();
        let first = FIRST[dice.below(FIRST.len() as u64) as usize];
        let last = LAST[dice.below(LAST.len() as u64) as usize];
        let domain = DOMAINS[dice.below(DOMAINS.len() as u64) as usize];
        let email = match dice.below(3) {
            0 => format!("{first}.{last}{i}@{domain}"),
            1 => format!("{first}{i}@{domain}"),
            _ => format!("{first}_{last}.{i}@{domain}"),
        };
        let created_at = self.now - 3600 - dice.secs(730 * DAY);
        UserRow {
            id,
            email,
            created_at,
        }
    }

    /// The display name and bio of user `i`'s profile, when set.
    pub fn profile(&self, i: u64, email: &str) -> (Option<String>, Option<String>) {
        let mut dice = Dice::new(i, PROFILE);
        let name = (dice.below(100) < 60).then(|| {
            let local = email.split('@').next().unwrap_or_default();
            local
                .split(['.', '_'])
                .map(|part| part.trim_end_matches(|c: char| c.is_ascii_digit()))
                .filter(|part| !part.is_empty())
                .map(capitalise)
                .collect::<Vec<_>>()
                .join(" ")
        });
        let bio = (dice.below(100) < 20).then(|| {
            format!(
                "Builds {} at a {}-person company; likes {}.",
                ["compilers", "payment systems", "games", "databases"][dice.below(4) as usize],
                10 + dice.below(990),
                ["climbing", "chess", "sourdough", "jazz"][dice.below(4) as usize]
            )
        });
        (name, bio)
    }

    /// User `i`'s sessions (1–3), newest token last in each.
    pub fn sessions(&self, i: u64) -> Vec<SessionRow> {
        let mut dice = Dice::new(i, SESSIONS);
        let roll = dice.below(100);
        let count = 1 + u64::from(roll >= 55) + u64::from(roll >= 85);
        (0..count)
            .map(|j| {
                let state = match dice.below(100) {
                    _ if j == 0 && self.is_sample(i) => State::Live,
                    0..70 => State::Live,
                    70..85 => State::Revoked,
                    _ => State::Expired,
                };
                self.session(&mut dice, i, state)
            })
            .collect()
    }

    /// The `k`-th session of the backlog: expired 1–7 days ago, never
    /// swept (a quiet week without logins, or an upgrade from a version
    /// without the sweep), belonging to an existing user below `users`.
    pub fn backlog_session(&self, k: u64, users: u64) -> SessionRow {
        let mut dice = Dice::new(k, BACKLOG);
        let user = dice.below(users);
        self.session(&mut dice, user, State::Backlog)
    }

    fn session(&self, dice: &mut Dice, user: u64, state: State) -> SessionRow {
        let id = dice.uuid();
        let length = 1 + dice.below(5);
        let gap = 1800 + dice.secs(8 * 3600);
        let last = match state {
            State::Live | State::Revoked => self.now - 60 - dice.secs(self.refresh_ttl - 3600),
            State::Expired => self.now - 60 - dice.secs(DAY - 120) - self.refresh_ttl,
            State::Backlog => self.now - DAY - 3600 - dice.secs(6 * DAY) - self.refresh_ttl,
        };
        let first = last - gap * (i64::try_from(length).unwrap_or(1) - 1);
        let mut tokens: Vec<TokenRow> = Vec::new();
        for n in 0..length {
            let issued_at = first + gap * i64::try_from(n).unwrap_or(0);
            tokens.push(TokenRow {
                id: dice.uuid(),
                parent: tokens.last().map(|parent| parent.id),
                hash: dice.bytes32(),
                issued_at,
                used_at: (n + 1 < length).then_some(issued_at + gap),
            });
        }
        let revoked_at = (state == State::Revoked)
            .then(|| last + dice.secs((self.now - 60 - last).max(1)).max(1));
        SessionRow {
            id,
            user,
            state,
            created_at: first,
            refreshed_at: (length > 1).then_some(last),
            revoked_at,
            expires_at: last + self.refresh_ttl,
            tokens,
        }
    }

    /// The refresh token that stands for `session`'s newest row, signed
    /// as the auth service signs it (HS256 over the same claims gives the
    /// same token).
    pub fn refresh_token(&self, user: Uuid, session: &SessionRow) -> Option<String> {
        let newest = session.tokens.last()?;
        self.signer
            .refresh_token(
                user,
                session.id,
                newest.id,
                newest.issued_at,
                newest.issued_at + self.refresh_ttl,
            )
            .ok()
    }

    /// The stored hash of a token row: the real fingerprint for the
    /// newest token of a sample session, random bytes otherwise.
    pub fn stored_hash(&self, user: &UserRow, session: &SessionRow, token: &TokenRow) -> Vec<u8> {
        let newest = session.tokens.last().map(|t| t.id) == Some(token.id);
        if newest
            && session.state == State::Live
            && self.is_sample(session.user)
            && let Some(real) = self.refresh_token(user.id, session)
        {
            return fingerprint(&real);
        }
        token.hash.to_vec()
    }

    /// The networks user `i` logged in from (1–2), as (hash, expires_at).
    pub fn networks(&self, i: u64) -> Vec<([u8; 32], i64)> {
        let mut dice = Dice::new(i, NETWORKS);
        let count = 1 + u64::from(dice.below(100) < 30);
        (0..count)
            .map(|_| {
                (
                    dice.bytes32(),
                    self.now + 3600 + dice.secs(self.refresh_ttl - 3600),
                )
            })
            .collect()
    }
}

/// One row of `login_failures`.
pub struct FailureRow {
    pub email: String,
    pub network: String,
    pub failures: u64,
    pub locked_until: Option<i64>,
    pub updated_at: i64,
}

impl Model {
    /// The `k`-th back-off counter of the last day (one per 20 users):
    /// half for accounts, half for addresses nobody has; a quarter from
    /// IPv6 networks; some locked (10 failures or more).
    pub fn login_failure(&self, k: u64) -> FailureRow {
        let mut dice = Dice::new(k, 10);
        let email = if k.is_multiple_of(2) {
            self.user(k * 20).email
        } else {
            format!("nobody{k}@example.com")
        };
        let network = if dice.below(4) == 0 {
            format!("2001:db8:{:x}:{:x}::/64", k >> 16, k & 0xffff)
        } else {
            format!("10.{}.{}.{}", (k >> 16) & 255, (k >> 8) & 255, k & 255)
        };
        let failures = 1 + dice.below(14);
        let updated_at = self.now - 60 - dice.secs(DAY - 120);
        let locked_until =
            (failures >= 10).then(|| updated_at + (1i64 << (failures - 10)).min(900));
        FailureRow {
            email,
            network,
            failures,
            locked_until,
            updated_at,
        }
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect::<String>()
    })
}
