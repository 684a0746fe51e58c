//! The SMTP client: lettre's pooled async transport over rustls, built
//! from `SMTP_URL`, and what an answer means for the outbox row: sent, try
//! again later, or never (a 5xx is final).

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::jobs::SendMail;
use crate::mail::config::{MailConfig, SmtpTls};
use crate::mail::messages;

/// How long one SMTP command may take (lettre's own timeout).
const TIMEOUT: Duration = Duration::from_secs(20);
/// How long sending one mail may take in all, from checkout to the
/// server's answer: lettre's timeout does not cover every wait (a server
/// that accepts the connection and never greets holds it forever), and a
/// mail that hangs must not hold up the runner. Under the outbox lease, so
/// no other runner takes the row meanwhile.
pub const SEND_LIMIT: Duration = Duration::from_secs(30);
/// SMTP connections kept open at most.
const POOL_SIZE: u32 = 4;

/// Sends mails to the configured SMTP server.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    config: MailConfig,
}

/// What sending one mail came to.
#[derive(Debug)]
pub enum Outcome {
    /// The server accepted the mail.
    Sent,
    /// Not now (the server is away, busy, or answered 4xx): try again.
    Later(String),
    /// Never (a 5xx, or a mail that cannot be written): give up.
    Refused(String),
}

impl Mailer {
    /// A client for `config.smtp` (no connection is made until a mail goes).
    pub fn new(config: MailConfig) -> Result<Self, lettre::transport::smtp::Error> {
        let smtp = &config.smtp;
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host);
        let builder = match smtp.tls {
            SmtpTls::None => builder,
            SmtpTls::StartTls => builder.tls(Tls::Required(TlsParameters::new(smtp.host.clone())?)),
            SmtpTls::Implicit => builder.tls(Tls::Wrapper(TlsParameters::new(smtp.host.clone())?)),
        };
        let builder = match &smtp.credentials {
            Some((user, password)) => builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            )),
            None => builder,
        };
        let transport = builder
            .port(smtp.port)
            .timeout(Some(TIMEOUT))
            .pool_config(PoolConfig::new().max_size(POOL_SIZE))
            .build();
        Ok(Self { transport, config })
    }

    /// Sends `mail`; never logs its token.
    pub async fn send(&self, mail: &SendMail) -> Outcome {
        let to = match mail.to.parse::<Mailbox>() {
            Ok(to) => to,
            Err(error) => return Outcome::Refused(format!("recipient address: {error}")),
        };
        let message = match messages::render(&self.config, to, &mail.message) {
            Ok(message) => message,
            Err(error) => return Outcome::Refused(format!("cannot write the mail: {error}")),
        };
        match tokio::time::timeout(SEND_LIMIT, self.transport.send(message)).await {
            Ok(Ok(_)) => Outcome::Sent,
            Ok(Err(error)) if error.is_permanent() => Outcome::Refused(error.to_string()),
            Ok(Err(error)) => Outcome::Later(error.to_string()),
            Err(_) => Outcome::Later(format!(
                "no answer from the SMTP server within {SEND_LIMIT:?}"
            )),
        }
    }
}
