//! `GET /healthz` (the process runs) and `GET /readyz` (the database
//! answers), the same on both services.

use actix_web::{HttpResponse, ResponseError, web};
use shared::api::HealthResponse;
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

/// `GET /readyz`: 200 when the database answers, else 503 `unavailable`
/// with `Retry-After`. The probe waits in the pool's line like any
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
pub async fn readyz(pool: web::Data<PgPool>) -> HttpResponse {
    match crate::db::ping(&pool).await {
        Ok(()) => HttpResponse::Ok().json(HealthResponse {
            status: "ok".into(),
        }),
        Err(error) => crate::error::InfraError::from(error).error_response(),
    }
}
