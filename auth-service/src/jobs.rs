//! The work the service leaves for after the response, as typed payloads
//! of the outbox (`store::outbox`): each kind is a type with its
//! [`Job::KIND`], written in the transaction of the change that needs it
//! and run by `workers`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A kind of outbox row.
pub trait Job: Serialize + DeserializeOwned {
    /// The row's `kind`.
    const KIND: &'static str;
}

/// A mail to send. It may hold a one-time token in clear: the row keeps
/// it only until the SMTP server accepted the mail.
#[derive(Debug, Serialize, Deserialize)]
pub struct SendMail {
    /// The recipient's address.
    pub to: String,
    pub message: Message,
}

impl Job for SendMail {
    const KIND: &'static str = "mail";
}

/// What a mail says.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "template", rename_all = "snake_case")]
pub enum Message {
    /// "Confirm your address": links to `APP_URL/verify#token=…`.
    Verify { token: String },
    /// "Reset your password": links to `APP_URL/reset-password#token=…`.
    Reset { token: String },
    /// "Your password was changed" (after a reset or a change).
    PasswordChanged,
}

impl Message {
    /// The template's name, for metrics and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Verify { .. } => "verify",
            Self::Reset { .. } => "reset",
            Self::PasswordChanged => "password_changed",
        }
    }
}

/// A request for a mail to an address that may have no account
/// (`/recover`, `/verify/resend`). Writing it costs the request the same
/// whether the account exists; the runner looks the account up, applies
/// the mail interval and turns it into a [`SendMail`], in one transaction.
#[derive(Debug, Serialize, Deserialize)]
pub struct MailRequest {
    /// The normalised address asked for.
    pub email: String,
    pub purpose: Purpose,
}

impl Job for MailRequest {
    const KIND: &'static str = "mail_request";
}

/// What a one-time token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Verify,
    Reset,
}

impl Purpose {
    /// The stored `purpose`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Reset => "reset",
        }
    }
}
