//! Applying an event from the auth service: store it (once per webhook id)
//! and announce it to every replica in one transaction, then apply it to
//! this replica's set, before the receiver answers 204.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::Connection;
use service_kit::db::{PgPool, blocking};
use shared::events::{Event, EventKind};

use crate::error::ProfileError;
use crate::revocations::{Revocation, Revocations};
use crate::store::revocations as store;

/// The notification payload of `events.caught_up`.
pub const CAUGHT_UP: &str = "caught_up";

/// The longest an access token can live (the auth service's ceiling on
/// `ACCESS_TOKEN_EXPIRE_MINUTES`), plus a minute of clock skew: how long a
/// deleted user's tokens are refused after the deletion.
const LONGEST_TOKEN: chrono::TimeDelta = chrono::TimeDelta::minutes(24 * 60 + 1);

/// What `kind` revokes, if anything.
fn revocation(kind: &EventKind, at: DateTime<Utc>) -> Option<Revocation> {
    match *kind {
        EventKind::SessionRevoked {
            session_id,
            expires_at,
            ..
        } => Some(Revocation::Session {
            session: session_id,
            expires: expires_at.timestamp(),
        }),
        EventKind::UserRevoked {
            user_id,
            before,
            expires_at,
        } => Some(Revocation::User {
            user: user_id,
            before: Some(before.timestamp()),
            deleted: false,
            expires: expires_at.timestamp(),
        }),
        EventKind::UserDeleted { user_id } => Some(Revocation::User {
            user: user_id,
            before: None,
            deleted: true,
            expires: (at + LONGEST_TOKEN).timestamp(),
        }),
        EventKind::CaughtUp {} => None,
    }
}

/// Applies `event`, delivered as `webhook_id`. A redelivery changes
/// nothing.
pub async fn receive(
    pool: &PgPool,
    revocations: &Arc<Revocations>,
    webhook_id: String,
    event: Event,
) -> Result<(), ProfileError> {
    let Some(revocation) = revocation(&event.kind, event.timestamp.max(Utc::now())) else {
        // events.caught_up: this replica, and (through the channel) every
        // other one that started since.
        revocations.caught_up();
        blocking(pool, |conn| {
            Ok::<_, ProfileError>(store::announce(conn, CAUGHT_UP)?)
        })
        .await?;
        return Ok(());
    };
    let deleted = match event.kind {
        EventKind::UserDeleted { user_id } => Some(user_id),
        _ => None,
    };
    let applied = blocking(pool, move |conn| {
        Ok::<_, ProfileError>(conn.transaction(|conn| {
            if !store::first_delivery(conn, &webhook_id)? {
                return Ok::<_, diesel::result::Error>(false);
            }
            store::store(conn, revocation)?;
            if let Some(user) = deleted {
                store::delete_profile(conn, user)?;
            }
            store::announce(conn, &revocation.to_payload())?;
            Ok(true)
        })?)
    })
    .await?;
    // Also a redelivery: the set may have been emptied since (a restart
    // reloads it, but this costs nothing).
    revocations.apply(revocation);
    if applied {
        metrics::counter!("profile_events_applied_total", "service" => crate::SERVICE, "type" => event.kind.name())
            .increment(1);
        tracing::info!(r#type = event.kind.name(), "event applied");
    } else {
        tracing::info!(
            r#type = event.kind.name(),
            "event already applied; nothing changed"
        );
    }
    Ok(())
}
