//! Work after the response: the outbox runner ([`runner`]) and what wakes
//! it ([`wake`]). Started in `startup.rs` beside the server and stopped by
//! the same graceful shutdown; without `SMTP_URL` there is nothing to run.

pub mod runner;
pub mod wake;

use std::sync::Arc;

use secrecy::SecretString;
use service_kit::background::Background;
use service_kit::db::PgPool;

use crate::mail::config::MailSettings;
use crate::mail::smtp::Mailer;

/// Why the workers could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot set up the SMTP client")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("cannot start the outbox listener")]
    Listener(#[from] std::io::Error),
}

/// Starts the mail runner, when mail is configured.
pub fn start(
    pool: PgPool,
    database_url: SecretString,
    settings: &MailSettings,
) -> Result<Option<Background>, StartError> {
    let Some(mail) = settings.mail.clone() else {
        return Ok(None);
    };
    let mailer = Mailer::new(mail)?;
    let wake = Arc::new(tokio::sync::Notify::new());
    wake::spawn(database_url, &wake)?;
    let runner = runner::Runner {
        pool,
        mailer,
        settings: settings.clone(),
        wake,
    };
    Ok(Some(Background::spawn("outbox runner", move |stop| {
        runner.run(stop)
    })))
}
