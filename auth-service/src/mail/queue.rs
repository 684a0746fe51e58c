//! The mails a change writes in its own transaction, as outbox rows: a
//! mail carrying a new one-time token, and the "password changed" notice.
//! Called by the services with the transaction's connection; the runner in
//! `workers` sends them after the commit.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use uuid::Uuid;

use crate::domain::OneTimeToken;
use crate::error::AuthError;
use crate::jobs::{Message, Purpose, SendMail};
use crate::mail::config::MailSettings;
use crate::store::{one_time_tokens, outbox};

/// Issues a token of `purpose` for `user` and writes the mail that carries
/// it to `email`, unless the account was mailed for it within the
/// interval.
pub fn token_mail(
    conn: &mut PgConnection,
    settings: &MailSettings,
    user: Uuid,
    email: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    let token = OneTimeToken::generate()
        .map_err(|error| service_kit::error::InfraError::internal(error.to_string()))?;
    let ttl = match purpose {
        Purpose::Verify => settings.verify_ttl,
        Purpose::Reset => settings.reset_ttl,
    };
    let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or_default();
    let not_since = now - chrono::Duration::from_std(settings.interval).unwrap_or_default();
    if !one_time_tokens::issue(
        conn,
        user,
        purpose,
        &token.hash(),
        now,
        expires_at,
        not_since,
    )? {
        tracing::info!(%user, purpose = purpose.as_str(), "mail not sent: within the mail interval");
        return Ok(());
    }
    let token = token.expose().to_owned();
    let message = match purpose {
        Purpose::Verify => Message::Verify { token },
        Purpose::Reset => Message::Reset { token },
    };
    outbox::enqueue(
        conn,
        &SendMail {
            to: email.to_owned(),
            message,
        },
    )?;
    Ok(())
}

/// Writes the "your password was changed" notice to `email`, when there
/// is mail at all.
pub fn password_changed(
    conn: &mut PgConnection,
    settings: &MailSettings,
    email: &str,
) -> diesel::QueryResult<()> {
    if settings.mail.is_none() {
        return Ok(());
    }
    outbox::enqueue(
        conn,
        &SendMail {
            to: email.to_owned(),
            message: Message::PasswordChanged,
        },
    )
}
