//! The events the auth service pushes to receivers (the profile service,
//! or any Standard Webhooks consumer): their JSON shape, the `whsec_…`
//! secret both sides hold, and signing and checking a delivery with the
//! `standardwebhooks` crate (the specification's own Rust library).
//!
//! A delivery is `POST` with the JSON body `{"type", "timestamp", "data"}`
//! and the headers `webhook-id`, `webhook-timestamp` (the attempt's Unix
//! time, so a redelivery after an outage is not stale) and
//! `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use standardwebhooks::{HEADER_WEBHOOK_ID, HEADER_WEBHOOK_SIGNATURE, HEADER_WEBHOOK_TIMESTAMP};

use crate::keys::MIN_SECRET_BYTES;

/// How far a delivery's timestamp may be from the receiver's clock.
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

/// One event, as its body is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    #[serde(flatten)]
    pub kind: EventKind,
    /// When the change happened (RFC 3339).
    pub timestamp: DateTime<Utc>,
}

/// What happened: the `type` and its `data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum EventKind {
    /// Access tokens with this `sid` are refused until `expires_at`.
    #[serde(rename = "session.revoked")]
    SessionRevoked {
        user_id: Uuid,
        session_id: Uuid,
        expires_at: DateTime<Utc>,
    },
    /// Access tokens of the user issued before `before` are refused until
    /// `expires_at`.
    #[serde(rename = "user.revoked")]
    UserRevoked {
        user_id: Uuid,
        before: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    },
    /// The user is gone: the profile goes, and every token of the user is
    /// refused from then on.
    #[serde(rename = "user.deleted")]
    UserDeleted { user_id: Uuid },
    /// Not a change: "every event written for you before this one has
    /// been delivered". The auth service sends it when a receiver has
    /// nothing pending, so a receiver that (re)started knows it has caught
    /// up. Receivers that do not know it ignore it.
    #[serde(rename = "events.caught_up")]
    CaughtUp {},
}

impl EventKind {
    /// The user the event is about (none for `events.caught_up`).
    pub fn user_id(&self) -> Option<Uuid> {
        match self {
            Self::SessionRevoked { user_id, .. }
            | Self::UserRevoked { user_id, .. }
            | Self::UserDeleted { user_id } => Some(*user_id),
            Self::CaughtUp {} => None,
        }
    }

    /// The `type` string.
    pub fn name(&self) -> &'static str {
        match self {
            Self::SessionRevoked { .. } => "session.revoked",
            Self::UserRevoked { .. } => "user.revoked",
            Self::UserDeleted { .. } => "user.deleted",
            Self::CaughtUp {} => "events.caught_up",
        }
    }
}

/// A fresh `webhook-id`.
pub fn new_event_id() -> String {
    format!("msg_{}", Uuid::new_v4().simple())
}

/// Why an `EVENT_SECRET` was refused (never with its material).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("must start with whsec_")]
    Prefix,
    #[error("must be whsec_ followed by standard base64")]
    Base64,
    #[error("must hold at least {MIN_SECRET_BYTES} bytes after whsec_")]
    TooShort,
}

/// The shared `whsec_…` secret; signs and checks deliveries.
pub struct EventSecret {
    webhook: standardwebhooks::Webhook,
}

impl fmt::Debug for EventSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventSecret(..)")
    }
}

/// Why a delivery was refused: the receiver answers 401 for the first,
/// 400 for the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error("the webhook signature is missing or wrong")]
    Unsigned,
    #[error("the webhook timestamp is missing, unreadable or more than 5 minutes off")]
    Stale,
}

impl EventSecret {
    /// Parses `whsec_` + base64 of at least 32 bytes.
    pub fn parse(secret: &SecretString) -> Result<Self, SecretError> {
        let text = secret.expose_secret().trim();
        let encoded = text.strip_prefix("whsec_").ok_or(SecretError::Prefix)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| SecretError::Base64)?;
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort);
        }
        let webhook =
            standardwebhooks::Webhook::from_bytes(bytes).map_err(|_| SecretError::Base64)?;
        Ok(Self { webhook })
    }

    /// A new random secret in the `whsec_` form: 256 bits straight from
    /// the operating system (`OsRng`).
    pub fn generate() -> String {
        use rand_core::RngCore;
        let mut bytes = [0u8; 32];
        rand_core::OsRng.fill_bytes(&mut bytes);
        format!("whsec_{}", STANDARD.encode(bytes))
    }

    /// The `webhook-signature` value for a delivery of `body` as `id` at
    /// Unix time `timestamp`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        self.webhook
            .sign(id, timestamp, body.as_bytes())
            // Only a body that is not UTF-8 fails, and a &str is.
            .unwrap_or_default()
    }

    /// Checks a delivery's headers and body: timestamp within 5 minutes of
    /// now, and a `v1` signature by this secret (compared in constant time
    /// by the crate).
    pub fn verify(&self, body: &[u8], headers: &http::HeaderMap) -> Result<(), DeliveryError> {
        use standardwebhooks::WebhookError as E;
        self.webhook
            .verify(body, headers)
            .map_err(|error| match error {
                E::InvalidTimestamp
                | E::TimestampTooOldError
                | E::FutureTimestampError
                | E::MissingHeader("timestamp")
                | E::InvalidHeader("timestamp") => DeliveryError::Stale,
                _ => DeliveryError::Unsigned,
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn secret(text: &str) -> Result<EventSecret, SecretError> {
        EventSecret::parse(&SecretString::from(text.to_owned()))
    }

    /// The example of the Standard Webhooks specification (and of the
    /// crate's own test): the same signature, byte for byte. Its secret is
    /// shorter than ours, so it is built from its bytes.
    #[test]
    fn signs_the_specifications_example_vector() {
        let key = STANDARD.decode("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let secret = EventSecret {
            webhook: standardwebhooks::Webhook::from_bytes(key).unwrap(),
        };
        assert_eq!(
            secret.sign(
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1_649_367_553,
                r#"{"email":"test@example.com","username":"test_user"}"#
            ),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn a_secret_is_whsec_and_at_least_32_bytes() {
        assert!(secret(&EventSecret::generate()).is_ok());
        assert_eq!(
            secret("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap_err(),
            SecretError::Prefix
        );
        assert_eq!(
            secret("whsec_not base64!").unwrap_err(),
            SecretError::Base64
        );
        assert_eq!(
            secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap_err(),
            SecretError::TooShort
        );
        assert!(!format!("{:?}", secret(&EventSecret::generate()).unwrap()).contains("whsec"));
    }

    fn headers(id: &str, timestamp: i64, signature: Option<&str>) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert(HEADER_WEBHOOK_ID, id.parse().unwrap());
        headers.insert(HEADER_WEBHOOK_TIMESTAMP, timestamp.into());
        if let Some(signature) = signature {
            headers.insert(HEADER_WEBHOOK_SIGNATURE, signature.parse().unwrap());
        }
        headers
    }

    #[test]
    fn verify_tells_an_unsigned_delivery_from_a_stale_one() {
        let ours = secret(&EventSecret::generate()).unwrap();
        let theirs = secret(&EventSecret::generate()).unwrap();
        let body = r#"{"type":"user.deleted","timestamp":"2026-12-06T00:00:00Z","data":{"user_id":"8b7c2c1e-0a4e-4c43-9b1a-3f1f9b0f1c2d"}}"#;
        let now = Utc::now().timestamp();
        let good = ours.sign("msg_1", now, body);
        assert_eq!(
            ours.verify(body.as_bytes(), &headers("msg_1", now, Some(&good))),
            Ok(())
        );
        let forged = theirs.sign("msg_1", now, body);
        for (case, headers) in [
            ("no signature", headers("msg_1", now, None)),
            ("another secret", headers("msg_1", now, Some(&forged))),
            ("another id", headers("msg_2", now, Some(&good))),
        ] {
            assert_eq!(
                ours.verify(body.as_bytes(), &headers),
                Err(DeliveryError::Unsigned),
                "{case}"
            );
        }
        let tampered = body.replace("user.deleted", "user.revoked");
        assert_eq!(
            ours.verify(tampered.as_bytes(), &headers("msg_1", now, Some(&good))),
            Err(DeliveryError::Unsigned)
        );
        let old = now - TOLERANCE_SECONDS - 300;
        let stale = ours.sign("msg_1", old, body);
        assert_eq!(
            ours.verify(body.as_bytes(), &headers("msg_1", old, Some(&stale))),
            Err(DeliveryError::Stale)
        );
    }

    #[test]
    fn events_have_the_contracts_shape() {
        let user = Uuid::nil();
        let event = Event {
            kind: EventKind::UserDeleted { user_id: user },
            timestamp: DateTime::from_timestamp(1_765_000_000, 0).unwrap(),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "user.deleted", "timestamp": "2025-12-06T05:46:40Z", "data": {"user_id": user}})
        );
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), event);
        let caught_up: Event = serde_json::from_str(
            r#"{"type":"events.caught_up","timestamp":"2026-12-06T00:00:00Z","data":{}}"#,
        )
        .unwrap();
        assert_eq!(caught_up.kind, EventKind::CaughtUp {});
    }
}
