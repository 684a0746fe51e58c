//! Work after the response: the mail runner ([`runner`]), the event runner
//! ([`events`]) and what wakes them ([`wake`]). Started in `startup.rs`
//! beside the server and stopped by the same graceful shutdown; without
//! `SMTP_URL` there is no mail runner, without `EVENT_ENDPOINTS` no event
//! runner.

pub mod events;
pub mod runner;
pub mod wake;

use std::sync::Arc;

use secrecy::SecretString;
use service_kit::background::Background;
use service_kit::db::PgPool;
use tokio::sync::Notify;

use crate::events::EventSettings;
use crate::mail::config::MailSettings;
use crate::mail::smtp::Mailer;

/// Why the workers could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot set up the SMTP client")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("cannot set up the HTTP client for events")]
    Http(#[from] reqwest::Error),
    #[error("cannot start the outbox listener")]
    Listener(#[from] std::io::Error),
}

/// Starts the runners that have something to do.
pub fn start(
    pool: &PgPool,
    database_url: SecretString,
    mail: &MailSettings,
    events: &EventSettings,
) -> Result<Vec<Background>, StartError> {
    let mut started = Vec::new();
    let mut wakers = wake::Wakers::default();
    if let Some(smtp) = mail.mail.clone() {
        let mailer = Mailer::new(smtp)?;
        let wake = Arc::new(Notify::new());
        wakers.mail = Some(wake.clone());
        let runner = runner::Runner {
            pool: pool.clone(),
            mailer,
            settings: mail.clone(),
            wake,
        };
        started.push(Background::spawn("outbox runner", move |stop| {
            runner.run(stop)
        }));
    }
    if let (false, Some(secret)) = (events.endpoints.is_empty(), events.secret.clone()) {
        let wake = Arc::new(Notify::new());
        wakers.events = Some(wake.clone());
        let runner = events::EventRunner {
            pool: pool.clone(),
            endpoints: events.endpoints.clone(),
            secret,
            client: events::client()?,
            wake,
        };
        started.push(Background::spawn("event runner", move |stop| {
            runner.run(stop)
        }));
    }
    if !started.is_empty() {
        wake::spawn(database_url, &wakers)?;
    }
    Ok(started)
}
