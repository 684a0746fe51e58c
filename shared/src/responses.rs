//! The error responses most routes share, declared once for the OpenAPI
//! documents: a route lists `(status = 413, response = PayloadTooLarge)`
//! and the document holds one `components.responses` entry. Each shows the
//! plain body and the token endpoints' one (with `error_description`).

use utoipa::ToResponse;

use crate::api::{ErrorBody, TokenResponse};

/// A new token pair from a token endpoint (`/login`, `/refresh`), never
/// to be cached (RFC 6749 §5.1).
#[derive(ToResponse)]
#[response(
    description = "A new token pair; a refresh token presented is retired.",
    headers(
        ("Cache-Control" = String, description = "`no-store`"),
        ("Pragma" = String, description = "`no-cache`")
    )
)]
pub struct TokenIssued(pub TokenResponse);

/// Body over 64 KiB, chunked or not (`payload_too_large`).
#[derive(ToResponse)]
#[response(
    description = "Body over 64 KiB (`payload_too_large`).",
    examples(
        ("plain" = (value = json!({"error": "payload_too_large", "detail": "The request body is larger than 64 KiB."}))),
        ("token endpoint" = (value = json!({"error": "payload_too_large", "detail": "The request body is larger than 64 KiB.", "error_description": "The request body is larger than 64 KiB."}))),
    )
)]
pub struct PayloadTooLarge(pub ErrorBody);

/// The body did not arrive within 10 s of the headers (`request_timeout`);
/// the connection is closed.
#[derive(ToResponse)]
#[response(
    description = "The body did not arrive within 10 s of its headers (`request_timeout`); the connection is closed.",
    examples(
        ("plain" = (value = json!({"error": "request_timeout", "detail": "The request body did not arrive within 10 s of its headers."}))),
        ("token endpoint" = (value = json!({"error": "request_timeout", "detail": "The request body did not arrive within 10 s of its headers.", "error_description": "The request body did not arrive within 10 s of its headers."}))),
    )
)]
pub struct RequestTimeout(pub ErrorBody);

/// A JSON route called without `Content-Type: application/json`.
#[derive(ToResponse)]
#[response(
    description = "Not `application/json`, or a charset other than UTF-8 (`unsupported_media_type`).",
    examples(
        ("plain" = (value = json!({"error": "unsupported_media_type", "detail": "The request body must be sent with Content-Type: application/json."}))),
        ("token endpoint" = (value = json!({"error": "unsupported_media_type", "detail": "The request body must be sent with Content-Type: application/json.", "error_description": "The request body must be sent with Content-Type: application/json."}))),
    )
)]
pub struct NotJson(pub ErrorBody);

/// A form route called without `Content-Type: application/x-www-form-urlencoded`.
#[derive(ToResponse)]
#[response(
    description = "Not a form, or a charset other than UTF-8 (`unsupported_media_type`).",
    example = json!({"error": "unsupported_media_type", "detail": "The request body must be sent with Content-Type: application/x-www-form-urlencoded.", "error_description": "The request body must be sent with Content-Type: application/x-www-form-urlencoded."})
)]
pub struct NotForm(pub ErrorBody);

/// Too many attempts (`rate_limited`), with `Retry-After`.
#[derive(ToResponse)]
#[response(
    description = "Too many attempts from this client or on this account (`rate_limited`), with `Retry-After`.",
    headers(("Retry-After" = u64, description = "Seconds to wait before trying again.")),
    examples(
        ("plain" = (value = json!({"error": "rate_limited", "detail": "Too many attempts; try again after the time in Retry-After."}))),
        ("token endpoint" = (value = json!({"error": "rate_limited", "detail": "Too many attempts; try again after the time in Retry-After.", "error_description": "Too many attempts; try again after the time in Retry-After."}))),
    )
)]
pub struct RateLimited(pub ErrorBody);

/// The database is unreachable (`unavailable`), with `Retry-After`.
#[derive(ToResponse)]
#[response(
    description = "The database is unreachable, or the service is too busy (`unavailable`), with `Retry-After`.",
    headers(("Retry-After" = u64, description = "Seconds to wait before trying again.")),
    examples(
        ("plain" = (value = json!({"error": "unavailable", "detail": "The service cannot reach its database; try again shortly."}))),
        ("token endpoint" = (value = json!({"error": "unavailable", "detail": "The service cannot reach its database; try again shortly.", "error_description": "The service cannot reach its database; try again shortly."}))),
    )
)]
pub struct Unavailable(pub ErrorBody);
