//! `GET /healthz` (the process runs) and `GET /readyz` (the database
//! answers), the same on both services.

use actix_web::{HttpResponse, ResponseError, web};
use shared::api::HealthResponse;
use shared::responses::Unavailable;

use crate::db::PgPool;
use crate::error::InfraError;

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
/// with `Retry-After`.
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
    let pool = pool.into_inner();
    let answer = web::block(move || crate::db::ping(&pool))
        .await
        .map_err(InfraError::from)
        .and_then(|pinged| pinged);
    match answer {
        Ok(()) => HttpResponse::Ok().json(HealthResponse {
            status: "ok".into(),
        }),
        Err(error) => error.error_response(),
    }
}
