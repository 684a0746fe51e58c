//! `POST /events`, on `INTERNAL_BIND_ADDR` only: the auth service's events
//! in the Standard Webhooks format. The signature and timestamp are
//! checked on the raw body before it is read as JSON.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use service_kit::db::PgPool;
use shared::events::{
    Event, EventSecret, HEADER_WEBHOOK_ID, HEADER_WEBHOOK_SIGNATURE, HEADER_WEBHOOK_TIMESTAMP,
};

use crate::error::ProfileError;
use crate::revocations::Revocations;
use crate::services::events;

/// The event types this receiver knows; others are answered 204 and
/// ignored, as the Standard Webhooks specification asks of receivers.
const KNOWN: [&str; 4] = [
    "session.revoked",
    "user.revoked",
    "user.deleted",
    "events.caught_up",
];

/// The webhook headers of `req`, as the `standardwebhooks` crate takes
/// them.
fn webhook_headers(req: &HttpRequest) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    for name in [
        HEADER_WEBHOOK_ID,
        HEADER_WEBHOOK_TIMESTAMP,
        HEADER_WEBHOOK_SIGNATURE,
    ] {
        if let Some(value) = req
            .headers()
            .get(name)
            .and_then(|value| http::HeaderValue::from_bytes(value.as_bytes()).ok())
        {
            headers.insert(name, value);
        }
    }
    headers
}

/// Applies one event: 204 once it is stored and announced to every
/// replica (or was already); 401 for a missing or wrong signature; 400
/// for a stale timestamp or a body that is not an event.
pub async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    secret: web::Data<EventSecret>,
    pool: web::Data<PgPool>,
    revocations: web::Data<Revocations>,
) -> Result<HttpResponse, ProfileError> {
    let headers = webhook_headers(&req);
    secret.verify(&body, &headers)?;
    let id = headers
        .get(HEADER_WEBHOOK_ID)
        .and_then(|id| id.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 256)
        .ok_or_else(|| ProfileError::BadEvent("the webhook-id is empty or too long".into()))?
        .to_owned();
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|error| ProfileError::BadEvent(format!("not JSON ({error})")))?;
    let kind = value.get("type").and_then(serde_json::Value::as_str);
    if !kind.is_some_and(|kind| KNOWN.contains(&kind)) {
        tracing::info!(r#type = ?kind, "event of an unknown type ignored");
        return Ok(HttpResponse::NoContent().finish());
    }
    let event: Event =
        serde_json::from_value(value).map_err(|error| ProfileError::BadEvent(error.to_string()))?;
    let revocations: Arc<Revocations> = revocations.into_inner();
    events::receive(&pool, &revocations, id, event).await?;
    Ok(HttpResponse::NoContent().finish())
}
