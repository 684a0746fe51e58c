//! Mail: the variables that configure it ([`config`]), the rows a change
//! writes for it ([`queue`]), what each mail says ([`messages`]) and the SMTP client that sends it ([`smtp`]). Mails
//! are asked for through the outbox (`jobs::SendMail`) and sent by the
//! runner in `workers`, never by a request.

pub mod config;
pub mod messages;
pub mod queue;
pub mod smtp;
