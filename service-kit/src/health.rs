//! `GET /healthz` (the process runs) and `GET /readyz` (the database
//! answers, and whatever else the service registered a [`ReadyGate`]
//! for), the same on both services.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};
use shared::api::{ErrorBody, ErrorCode, HealthResponse};
use shared::responses::Unavailable;

use crate::db::PgPool;

/// `GET /healthz`: 200 while the process runs.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses((status = 200, description = "The process is running.", body = HealthResponse))
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthResponse {
        status: "ok".into(),
    })
}

/// A service's own condition for being ready, besides the database
/// (registered as app data): `Err` names what it waits for.
#[derive(Clone)]
pub struct ReadyGate(pub Arc<dyn Fn() -> Result<(), &'static str> + Send + Sync>);

/// `GET /readyz`: 200 when the database answers (and the service's
/// [`ReadyGate`], if any, opens), else 503 `unavailable` with
/// `Retry-After`. The probe waits in the pool's line like any
/// request, so a replica whose line does not move within
/// `DB_CONNECT_TIMEOUT_SECONDS` is not ready either.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "The database answers.", body = HealthResponse),
        (status = 503, response = Unavailable),
    )
)]
pub async fn readyz(pool: web::Data<PgPool>, gate: Option<web::Data<ReadyGate>>) -> HttpResponse {
    if let Some(Err(waiting)) = gate.map(|gate| (gate.0)()) {
        let body = ErrorBody::new(ErrorCode::Unavailable, waiting);
        return crate::error::with_retry_after(
            crate::error::error_response(StatusCode::SERVICE_UNAVAILABLE, &body),
            1,
        );
    }
    match crate::db::ping(&pool).await {
        Ok(()) => HttpResponse::Ok().json(HealthResponse {
            status: "ok".into(),
        }),
        Err(error) => crate::error::InfraError::from(error).error_response(),
    }
}
