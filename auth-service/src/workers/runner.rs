//! The outbox runner: claims due rows (any replica may run one; `FOR
//! UPDATE SKIP LOCKED` and a lease keep a row to one runner), runs each,
//! and records the outcome: done rows are deleted (and with them any
//! clear token), failed ones are due again after 1 s doubling to 10 min,
//! for 24 h; an SMTP 5xx, or a row a day old, is given up for good.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use diesel::Connection;
use futures::future::join_all;
use service_kit::background::Stop;
use service_kit::db::{DbError, PgPool, blocking};
use service_kit::error::Chain;
use tokio::sync::Notify;

use crate::error::AuthError;
use crate::jobs::{Job, MailRequest, SendMail};
use crate::mail::config::MailSettings;
use crate::mail::smtp::{Mailer, Outcome};
use crate::services::recovery;
use crate::store::outbox::{self, Claimed};

/// The kinds this runner runs.
const KINDS: [&str; 2] = [SendMail::KIND, MailRequest::KIND];
/// How often the runner looks without being woken.
const POLL: Duration = Duration::from_secs(1);
/// Rows claimed at once (and sent in parallel).
const BATCH: i64 = 16;
/// How long a claim keeps a row from other runners: twice what sending a
/// mail may take ([`crate::mail::smtp::SEND_LIMIT`]).
pub const LEASE: Duration = Duration::from_secs(60);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// After this, a row is given up.
const GIVE_UP_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// Everything the runner needs.
pub struct Runner {
    pub pool: PgPool,
    pub mailer: Mailer,
    pub settings: MailSettings,
    pub wake: Arc<Notify>,
}

/// The wait before attempt `attempts + 1`: 1 s doubling, at most 10 min.
pub fn backoff(attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    Duration::from_secs(1u64 << doublings).min(MAX_BACKOFF)
}

impl Runner {
    /// Runs due rows until the service stops.
    pub async fn run(self, mut stop: Stop) {
        let runner = Arc::new(self);
        tracing::info!("outbox runner started");
        loop {
            runner.drain().await;
            runner.report_pending().await;
            tokio::select! {
                () = runner.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
                () = stop.requested() => return,
            }
        }
    }

    /// Claims and runs batches until none is due.
    async fn drain(self: &Arc<Self>) {
        loop {
            let claimed = blocking(&self.pool, |conn| {
                Ok::<_, DbError>(outbox::claim(conn, &KINDS, BATCH, LEASE)?)
            })
            .await;
            let rows = match claimed {
                Ok(rows) if rows.is_empty() => return,
                Ok(rows) => rows,
                Err(error) => {
                    tracing::warn!(error = %Chain(&error), "cannot claim outbox rows");
                    return;
                }
            };
            join_all(rows.into_iter().map(|row| self.clone().run_row(row))).await;
        }
    }

    async fn run_row(self: Arc<Self>, row: Claimed) {
        let (id, attempts, created_at) = (row.id, row.attempts, row.created_at);
        let outcome = match row.kind.as_str() {
            SendMail::KIND => self.send(row).await,
            MailRequest::KIND => self.resolve(row).await,
            other => Outcome::Refused(format!("unknown outbox kind {other:?}")),
        };
        let too_old = Utc::now() - created_at > GIVE_UP_AFTER;
        let recorded = blocking(&self.pool, move |conn| {
            match outcome {
                Outcome::Sent => outbox::finish(conn, id)?,
                Outcome::Later(error) if too_old => {
                    tracing::error!(id, %error, "outbox row given up after 24 h");
                    outbox::give_up(conn, id, &error)?;
                }
                Outcome::Later(error) => {
                    let at = Utc::now()
                        + chrono::Duration::from_std(backoff(attempts)).unwrap_or_default();
                    tracing::warn!(id, attempts, %error, "outbox row failed; will try again");
                    outbox::retry_at(conn, id, at, &error)?;
                }
                Outcome::Refused(error) => {
                    tracing::error!(id, %error, "outbox row refused for good");
                    outbox::give_up(conn, id, &error)?;
                }
            }
            Ok::<_, DbError>(())
        })
        .await;
        if let Err(error) = recorded {
            // The lease runs out and another attempt records it.
            tracing::warn!(id, error = %Chain(&error), "cannot record an outbox outcome");
        }
    }

    async fn send(&self, row: Claimed) -> Outcome {
        let mail: SendMail = match serde_json::from_value(row.payload) {
            Ok(mail) => mail,
            Err(error) => return Outcome::Refused(format!("unreadable payload: {error}")),
        };
        let template = mail.message.name();
        let outcome = self.mailer.send(&mail).await;
        let result = match &outcome {
            Outcome::Sent => "sent",
            Outcome::Later(_) => "retry",
            Outcome::Refused(_) => "failed",
        };
        crate::measure::mail_sent(template, result);
        if matches!(outcome, Outcome::Sent) {
            tracing::info!(id = row.id, template, "mail sent");
        }
        outcome
    }

    /// Turns a mail request into its mail (or nothing) and deletes it, in
    /// one transaction.
    async fn resolve(self: &Arc<Self>, row: Claimed) -> Outcome {
        let request: MailRequest = match serde_json::from_value(row.payload) {
            Ok(request) => request,
            Err(error) => return Outcome::Refused(format!("unreadable payload: {error}")),
        };
        let runner = self.clone();
        let id = row.id;
        let resolved = blocking(&self.pool, move |conn| {
            conn.transaction(|conn| {
                recovery::resolve(conn, &runner.settings, &request)?;
                Ok::<_, AuthError>(outbox::finish(conn, id)?)
            })
        })
        .await;
        match resolved {
            // Already deleted with the mail it asked for.
            Ok(()) => Outcome::Sent,
            Err(error) => Outcome::Later(Chain(&error).to_string()),
        }
    }

    /// `mail_outbox_pending` and `mail_outbox_oldest_pending_seconds`.
    async fn report_pending(&self) {
        let pending = blocking(&self.pool, |conn| {
            Ok::<_, DbError>(outbox::pending(conn, &KINDS)?)
        })
        .await;
        if let Ok((count, oldest)) = pending {
            let age = oldest.map_or(Duration::ZERO, |oldest| {
                (Utc::now() - oldest).to_std().unwrap_or_default()
            });
            crate::measure::outbox_pending(count, age);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_second_to_ten_minutes() {
        let waits: Vec<u64> = (1..=12).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]);
        assert_eq!(backoff(0).as_secs(), 1);
        assert_eq!(backoff(i32::MAX).as_secs(), 600);
    }
}
