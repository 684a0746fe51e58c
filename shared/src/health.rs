//! `GET /healthz` (the process runs) and `GET /readyz` (the database
//! answers), the same on both services.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::api::{ErrorBody, ErrorCode, HealthResponse};
use crate::db::PgPool;
use crate::http::error_response;

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

/// `GET /readyz`: 200 when the database answers, else 503 `unavailable`.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "The database answers.", body = HealthResponse),
        (status = 503, description = "The database does not answer.", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again.")), example = json!({"error": "unavailable", "detail": "The service cannot reach its database; try again shortly."})),
    )
)]
pub async fn readyz(pool: web::Data<PgPool>) -> HttpResponse {
    let pool = pool.into_inner();
    match web::block(move || crate::db::ping(&pool)).await {
        Ok(true) => HttpResponse::Ok().json(HealthResponse {
            status: "ok".into(),
        }),
        _ => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &ErrorBody::new(ErrorCode::Unavailable, "The database is unreachable."),
        ),
    }
}
