//! A profile as the cache keeps it: the row, and its `GET /me` bodies,
//! serialised on first use for each pair of the token's `email_verified`
//! and `mfa` claims (the only parts of the body the row does not hold).
//! A cache hit then answers with bytes made once, not a fresh
//! serialisation (two RFC 3339 timestamps and four strings) per request.
//! A change to the profile replaces the whole entry, bodies included.

use std::ops::Deref;
use std::sync::OnceLock;

use actix_web::web::Bytes;

use crate::store::profiles::Profile;

/// A profile and its memoised bodies.
#[derive(Debug)]
pub struct Served {
    profile: Profile,
    bodies: [OnceLock<Bytes>; 4],
}

impl Served {
    pub fn new(profile: Profile) -> Self {
        Self {
            profile,
            bodies: Default::default(),
        }
    }

    /// The body for a token with these claims: made by `serialise` the
    /// first time, the same bytes after that.
    pub fn body<E>(
        &self,
        email_verified: bool,
        mfa: bool,
        serialise: impl FnOnce(&Profile) -> Result<Vec<u8>, E>,
    ) -> Result<Bytes, E> {
        let slot = &self.bodies[usize::from(email_verified) * 2 + usize::from(mfa)];
        if let Some(body) = slot.get() {
            return Ok(body.clone());
        }
        let body = Bytes::from(serialise(&self.profile)?);
        Ok(slot.get_or_init(|| body).clone())
    }
}

impl Deref for Served {
    type Target = Profile;

    fn deref(&self) -> &Profile {
        &self.profile
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::Utc;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn each_pair_of_claims_gets_its_own_body_made_once() {
        let now = Utc::now();
        let served = Served::new(Profile {
            user_id: Uuid::new_v4(),
            email: "ada@example.com".into(),
            email_issued_at: now,
            display_name: None,
            bio: None,
            created_at: now,
            updated_at: now,
        });
        let made = std::cell::Cell::new(0);
        let body = |verified: bool, mfa: bool| {
            served
                .body(verified, mfa, |profile| {
                    made.set(made.get() + 1);
                    Ok::<_, ()>(format!("{} {verified} {mfa}", profile.email).into_bytes())
                })
                .unwrap()
        };
        assert_eq!(body(true, false), "ada@example.com true false");
        assert_eq!(body(false, true), "ada@example.com false true");
        assert_eq!(body(true, false), "ada@example.com true false");
        assert_eq!(made.get(), 2);
    }
}
