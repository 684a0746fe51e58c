//! The event runner: delivers `event_outbox` rows to their endpoints in
//! the Standard Webhooks format, signed at each attempt (the
//! `webhook-timestamp` is the attempt's, so a redelivery after an outage
//! is not stale at the receiver). 2xx deletes the row; anything else
//! (a refusal, a timeout, a receiver that is down) backs off, 1 s doubling
//! to [`MAX_BACKOFF`], and tries again, for as long as it takes.
//!
//! When an endpoint has nothing pending, the runner tells it so every
//! [`CAUGHT_UP_EVERY`] with an `events.caught_up` delivery: a receiver
//! that has just (re)started knows from it that every event written before
//! has reached it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::future::join_all;
use service_kit::background::Stop;
use service_kit::db::{DbError, PgPool, blocking};
use service_kit::error::Chain;
use shared::events::{
    Event, EventKind, EventSecret, HEADER_WEBHOOK_ID, HEADER_WEBHOOK_SIGNATURE,
    HEADER_WEBHOOK_TIMESTAMP, new_event_id,
};
use tokio::sync::Notify;

use crate::store::event_outbox::{self, Claimed};

const POLL: Duration = Duration::from_secs(1);
/// Rows claimed at once (and delivered in parallel).
const BATCH: i64 = 64;
/// How long one delivery may take.
const SEND_LIMIT: Duration = Duration::from_secs(10);
/// How long a claim keeps a row from other runners.
const LEASE: Duration = Duration::from_secs(30);
/// The longest wait between two attempts at a row.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often an endpoint with nothing pending hears `events.caught_up`.
pub const CAUGHT_UP_EVERY: Duration = Duration::from_secs(1);

/// Everything the runner needs.
pub struct EventRunner {
    pub pool: PgPool,
    pub endpoints: Vec<String>,
    pub secret: Arc<EventSecret>,
    pub client: reqwest::Client,
    pub wake: Arc<Notify>,
}

/// The wait before attempt `attempts + 1`.
fn backoff(attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(16);
    Duration::from_secs(1u64 << doublings).min(MAX_BACKOFF)
}

/// An HTTP client for deliveries.
pub fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(SEND_LIMIT)
        .connect_timeout(Duration::from_secs(2))
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

impl EventRunner {
    /// Delivers until the service stops.
    pub async fn run(self, mut stop: Stop) {
        let runner = Arc::new(self);
        tracing::info!(endpoints = runner.endpoints.len(), "event runner started");
        let mut caught_up_at = Instant::now() - CAUGHT_UP_EVERY;
        loop {
            runner.drain().await;
            if caught_up_at.elapsed() >= CAUGHT_UP_EVERY {
                runner.tell_caught_up().await;
                caught_up_at = Instant::now();
            }
            tokio::select! {
                () = runner.wake.notified() => {}
                () = tokio::time::sleep(POLL.min(CAUGHT_UP_EVERY)) => {}
                () = stop.requested() => return,
            }
        }
    }

    /// Claims and delivers batches until none is due.
    async fn drain(self: &Arc<Self>) {
        loop {
            let endpoints = self.endpoints.clone();
            let claimed = blocking(&self.pool, move |conn| {
                Ok::<_, DbError>(event_outbox::claim(conn, &endpoints, BATCH, LEASE)?)
            })
            .await;
            let rows = match claimed {
                Ok(rows) if rows.is_empty() => return,
                Ok(rows) => rows,
                Err(error) => {
                    tracing::warn!(error = %Chain(&error), "cannot claim event outbox rows");
                    return;
                }
            };
            join_all(rows.into_iter().map(|row| self.clone().deliver_row(row))).await;
        }
    }

    async fn deliver_row(self: Arc<Self>, row: Claimed) {
        let index = self.index_of(&row.endpoint);
        let outcome = self.post(&row.endpoint, &row.webhook_id, &row.body).await;
        crate::measure::event_delivered(
            index,
            if outcome.is_ok() {
                "delivered"
            } else {
                "retry"
            },
        );
        let (id, attempts) = (row.id, row.attempts);
        let recorded = blocking(&self.pool, move |conn| {
            match outcome {
                Ok(()) => event_outbox::finish(conn, id)?,
                Err(error) => {
                    let at = Utc::now()
                        + chrono::Duration::from_std(backoff(attempts)).unwrap_or_default();
                    tracing::warn!(id, attempts, endpoint = index, %error, "event not delivered; will try again");
                    event_outbox::retry_at(conn, id, at, &error)?;
                }
            }
            Ok::<_, DbError>(())
        })
        .await;
        if let Err(error) = recorded {
            // The lease runs out and the row is delivered again (the
            // receiver is idempotent on the webhook id).
            tracing::warn!(id, error = %Chain(&error), "cannot record an event delivery");
        }
    }

    /// One signed `POST`; `Err` names what went wrong (no secret in it).
    async fn post(&self, endpoint: &str, id: &str, body: &str) -> Result<(), String> {
        let timestamp = Utc::now().timestamp();
        let signature = self.secret.sign(id, timestamp, body);
        let sent = self
            .client
            .post(endpoint)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(HEADER_WEBHOOK_ID, id)
            .header(HEADER_WEBHOOK_TIMESTAMP, timestamp.to_string())
            .header(HEADER_WEBHOOK_SIGNATURE, signature)
            .body(body.to_owned())
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!("the receiver answered {}", response.status())),
            Err(error) => Err(format!("cannot reach the receiver: {}", Chain(&error))),
        }
    }

    /// `events.caught_up` to each endpoint with nothing pending (and the
    /// `events_pending` gauge for each).
    async fn tell_caught_up(self: &Arc<Self>) {
        let endpoints = self.endpoints.clone();
        let pending = blocking(&self.pool, move |conn| {
            endpoints
                .iter()
                .map(|endpoint| event_outbox::pending_for(conn, endpoint))
                .collect::<Result<Vec<i64>, _>>()
                .map_err(DbError::from)
        })
        .await;
        let Ok(pending) = pending else { return };
        let told = self.endpoints.iter().zip(&pending).enumerate().map(
            |(index, (endpoint, &count))| async move {
                crate::measure::events_pending(index, count);
                if count == 0 {
                    let body = caught_up_body();
                    // Best effort: a receiver that is down hears it later.
                    let _ = self.post(endpoint, &new_event_id(), &body).await;
                }
            },
        );
        join_all(told).await;
    }

    fn index_of(&self, endpoint: &str) -> usize {
        self.endpoints
            .iter()
            .position(|known| known == endpoint)
            .unwrap_or(usize::MAX)
    }
}

fn caught_up_body() -> String {
    serde_json::to_string(&Event {
        kind: EventKind::CaughtUp {},
        timestamp: Utc::now(),
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_second_to_the_cap() {
        let waits: Vec<u64> = (1..=5).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 5, 5]);
        assert_eq!(backoff(i32::MAX), MAX_BACKOFF);
    }
}
