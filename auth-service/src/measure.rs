//! The auth service's domain metrics (the HTTP ones are service-kit's):
//! named once here so a dashboard and the code agree.

use std::time::Duration;

use crate::SERVICE;

/// Registers the help text of every metric below (once, at start-up).
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "auth_logins_total",
        "Password logins by outcome: success, invalid_grant, backoff, rate_limited, shed."
    );
    describe_counter!(
        "auth_tokens_issued_total",
        "Tokens signed, by kind: access or refresh."
    );
    describe_counter!(
        "auth_refresh_reuse_detected_total",
        "Retired refresh tokens presented after the grace window (the session is revoked)."
    );
    describe_counter!(
        "auth_sessions_revoked_total",
        "Sessions ended, by reason: logout, reuse, password_reset, password_change, session_delete or account_delete."
    );
    describe_counter!(
        "mail_sent_total",
        "Mail delivery attempts by kind (verify, reset, password_changed) and result (sent, retry, failed)."
    );
    describe_gauge!(
        "mail_outbox_pending",
        "Mails and mail requests waiting in the outbox (not given up)."
    );
    describe_gauge!(
        "mail_outbox_oldest_pending_seconds",
        Unit::Seconds,
        "Age of the oldest mail waiting in the outbox; 0 when none waits."
    );
    describe_counter!(
        "events_written_total",
        "Events written to the event outbox, by type (once per event, whatever the number of endpoints)."
    );
    describe_counter!(
        "events_delivered_total",
        "Event delivery attempts by endpoint index (0, 1, ... in EVENT_ENDPOINTS) and result (delivered, retry)."
    );
    describe_gauge!(
        "events_pending",
        "Events waiting for delivery, by endpoint index."
    );
    describe_histogram!(
        "auth_password_hash_duration_seconds",
        Unit::Seconds,
        "Time of one bcrypt hash or verification."
    );
    describe_gauge!(
        "auth_hash_gate_waiting",
        "Requests waiting for a hashing slot."
    );
    describe_gauge!(
        "auth_hash_gate_in_use",
        "Hashing slots in use (of HASH_CONCURRENCY)."
    );
}

/// How a password login ended.
#[derive(Debug, Clone, Copy)]
pub enum LoginOutcome {
    Success,
    InvalidGrant,
    /// Refused by the per-email back-off or the account ceiling.
    Backoff,
    /// Refused by the per-client request limit.
    RateLimited,
    /// Refused by the hashing gate.
    Shed,
}

/// `auth_logins_total{outcome}`.
pub fn login(outcome: LoginOutcome) {
    let outcome = match outcome {
        LoginOutcome::Success => "success",
        LoginOutcome::InvalidGrant => "invalid_grant",
        LoginOutcome::Backoff => "backoff",
        LoginOutcome::RateLimited => "rate_limited",
        LoginOutcome::Shed => "shed",
    };
    metrics::counter!("auth_logins_total", "service" => SERVICE, "outcome" => outcome).increment(1);
}

/// `auth_tokens_issued_total{kind}`: `access` or `refresh`.
pub fn token_issued(kind: &'static str) {
    metrics::counter!("auth_tokens_issued_total", "service" => SERVICE, "kind" => kind)
        .increment(1);
}

/// `auth_refresh_reuse_detected_total`.
pub fn reuse_detected() {
    metrics::counter!("auth_refresh_reuse_detected_total", "service" => SERVICE).increment(1);
}

/// `auth_sessions_revoked_total{reason}`: `logout` or `reuse`.
pub fn session_revoked(reason: &'static str) {
    metrics::counter!("auth_sessions_revoked_total", "service" => SERVICE, "reason" => reason)
        .increment(1);
}

/// `auth_sessions_revoked_total{reason}`, by `count` at once.
pub fn sessions_revoked(reason: &'static str, count: usize) {
    metrics::counter!("auth_sessions_revoked_total", "service" => SERVICE, "reason" => reason)
        .increment(u64::try_from(count).unwrap_or(u64::MAX));
}

/// `events_written_total{type}`.
pub fn event_written(kind: &'static str) {
    metrics::counter!("events_written_total", "service" => SERVICE, "type" => kind).increment(1);
}

/// `events_delivered_total{endpoint, result}`: `delivered` or `retry`.
pub fn event_delivered(endpoint: usize, result: &'static str) {
    metrics::counter!("events_delivered_total", "service" => SERVICE, "endpoint" => endpoint.to_string(), "result" => result)
        .increment(1);
}

/// `events_pending{endpoint}`.
pub fn events_pending(endpoint: usize, count: i64) {
    metrics::gauge!("events_pending", "service" => SERVICE, "endpoint" => endpoint.to_string())
        .set(count as f64);
}

/// `mail_sent_total{kind, result}`: one delivery attempt of a `kind` mail
/// (`verify`, `reset`, `password_changed`) that was `sent`, will `retry`
/// or `failed` for good.
pub fn mail_sent(kind: &'static str, result: &'static str) {
    metrics::counter!("mail_sent_total", "service" => SERVICE, "kind" => kind, "result" => result)
        .increment(1);
}

/// `mail_outbox_pending` and `mail_outbox_oldest_pending_seconds`.
pub fn outbox_pending(count: i64, oldest_age: Duration) {
    metrics::gauge!("mail_outbox_pending", "service" => SERVICE).set(count as f64);
    metrics::gauge!("mail_outbox_oldest_pending_seconds", "service" => SERVICE)
        .set(oldest_age.as_secs_f64());
}

/// `auth_password_hash_duration_seconds`.
pub fn hash_duration(elapsed: Duration) {
    metrics::histogram!("auth_password_hash_duration_seconds", "service" => SERVICE)
        .record(elapsed.as_secs_f64());
}
