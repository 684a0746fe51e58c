//! Events for receivers (`EVENT_ENDPOINTS`): what the auth service tells
//! the profile service (and any Standard Webhooks consumer) when sessions
//! or accounts end. A change writes its events with [`Events`] in its own
//! transaction (`store::event_outbox`); the runner in
//! `workers::events` signs and delivers them after the commit.

pub mod config;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::{PgConnection, QueryResult};
use shared::events::{Event, EventKind, new_event_id};
use uuid::Uuid;

use crate::store::event_outbox::{self, NewEvent};

pub use config::EventSettings;

/// Writes events in the transaction of the change they announce.
#[derive(Debug, Clone)]
pub struct Events {
    settings: Arc<EventSettings>,
    /// `ACCESS_TOKEN_EXPIRE_MINUTES`: a revocation lasts as long as the
    /// longest access token it covers.
    access_ttl: Duration,
}

impl Events {
    pub fn new(settings: Arc<EventSettings>, access_ttl: Duration) -> Self {
        Self {
            settings,
            access_ttl,
        }
    }

    /// When an access token issued at `now` has expired for sure.
    fn covered_until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        // The next second too: `iat` is whole seconds.
        now + chrono::Duration::from_std(self.access_ttl).unwrap_or_default()
            + chrono::Duration::seconds(1)
    }

    /// `session.revoked` for each of `sessions` of `user`, in one insert.
    pub fn sessions_revoked(
        &self,
        conn: &mut PgConnection,
        user: Uuid,
        sessions: &[Uuid],
        now: DateTime<Utc>,
    ) -> QueryResult<()> {
        let kinds = sessions.iter().map(|&session| EventKind::SessionRevoked {
            user_id: user,
            session_id: session,
            expires_at: self.covered_until(now),
        });
        self.write_all(conn, kinds, now)
    }

    /// `user.revoked`: every access token of `user` issued before the
    /// second of `now` (the sessions revoked are named one by one as
    /// well, so a token of the same second is covered too).
    pub fn user_revoked(
        &self,
        conn: &mut PgConnection,
        user: Uuid,
        now: DateTime<Utc>,
    ) -> QueryResult<()> {
        let before = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
        let kind = EventKind::UserRevoked {
            user_id: user,
            before,
            expires_at: self.covered_until(now),
        };
        self.write_all(conn, [kind], now)
    }

    /// `user.deleted`.
    pub fn user_deleted(
        &self,
        conn: &mut PgConnection,
        user: Uuid,
        now: DateTime<Utc>,
    ) -> QueryResult<()> {
        self.write_all(conn, [EventKind::UserDeleted { user_id: user }], now)
    }

    /// One row per event and endpoint (an event's id and body the same for
    /// each endpoint), all in one insert; nothing when no endpoint is
    /// configured.
    fn write_all(
        &self,
        conn: &mut PgConnection,
        kinds: impl IntoIterator<Item = EventKind>,
        now: DateTime<Utc>,
    ) -> QueryResult<()> {
        if self.settings.endpoints.is_empty() {
            return Ok(());
        }
        let mut events = Vec::new();
        for kind in kinds {
            let user_id = kind.user_id().unwrap_or_default();
            let name = kind.name();
            let body = serde_json::to_string(&Event {
                kind,
                timestamp: now,
            })
            .map_err(|error| diesel::result::Error::SerializationError(Box::new(error)))?;
            events.push((new_event_id(), user_id, name, body));
        }
        let rows: Vec<NewEvent<'_>> = events
            .iter()
            .flat_map(|(id, user_id, _, body)| {
                self.settings
                    .endpoints
                    .iter()
                    .map(move |endpoint| NewEvent {
                        webhook_id: id,
                        endpoint: endpoint.as_str(),
                        user_id: *user_id,
                        body,
                    })
            })
            .collect();
        event_outbox::enqueue(conn, &rows)?;
        for (_, _, name, _) in &events {
            crate::measure::event_written(name);
        }
        Ok(())
    }
}
