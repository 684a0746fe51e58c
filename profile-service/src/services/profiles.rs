//! The caller's own profile, created on first use from the access token's
//! claims.
//!
//! A read answers from the replica's cache when it holds the profile as
//! of this token, else with one `SELECT` (plus a write for a new user or a
//! newer token), retried once if its connection turns out dead.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use service_kit::db::{PgPool, blocking, blocking_idempotent};
use shared::claims::AccessClaims;

use crate::cache::ProfileCache;
use crate::domain::ProfileChanges;
use crate::error::ProfileError;
use crate::served::Served;
use crate::store::profiles::{self, Profile};

fn issued_at(claims: &AccessClaims) -> DateTime<Utc> {
    DateTime::from_timestamp(claims.iat, 0).unwrap_or_default()
}

/// The profile of the token's user, as of that token (with the bodies
/// answered for it, see [`Served`]).
pub async fn get(
    pool: &PgPool,
    cache: &ProfileCache,
    claims: AccessClaims,
) -> Result<Arc<Served>, ProfileError> {
    let issued_at = issued_at(&claims);
    if let Some(profile) = cache.get(claims.sub, issued_at) {
        return Ok(profile);
    }
    let ticket = cache.ticket(claims.sub);
    let profile: Profile = blocking_idempotent(pool, move |conn| {
        Ok::<_, ProfileError>(profiles::for_token(
            conn,
            claims.sub,
            &claims.email,
            issued_at,
        )?)
    })
    .await?;
    let profile = Arc::new(Served::new(profile));
    cache.insert(ticket, profile.clone());
    Ok(profile)
}

/// Applies `changes` to the profile of the token's user (creating it
/// first if need be) and returns it.
pub async fn change(
    pool: &PgPool,
    cache: &ProfileCache,
    claims: AccessClaims,
    changes: ProfileChanges,
) -> Result<Profile, ProfileError> {
    let user = claims.sub;
    let profile = blocking(pool, move |conn| {
        Ok::<_, ProfileError>(profiles::mirror_and_update(
            conn,
            claims.sub,
            &claims.email,
            issued_at(&claims),
            &changes,
        )?)
    })
    .await?;
    // The trigger told every replica; this one need not wait for the echo
    // to read its own write.
    cache.evict(user);
    Ok(profile)
}
