//! The OAuth 2.0 error shape of token endpoints (RFC 6749 §5.2): wrap a
//! resource in [`oauth_errors`] and every JSON error it answers, whoever
//! produced it (the handler, an extractor, a limiter, the 405 fallback),
//! also carries `error_description`, a copy of `detail`. Declared once per
//! route, so no error path can forget it.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use shared::api::ErrorBody;

use service_kit::error::InfraError;

/// Middleware for a token endpoint's resource: adds `error_description`
/// to each JSON error body.
pub async fn oauth_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let request = req.request().clone();
    let response = match next.call(req).await {
        Ok(response) => response.map_into_boxed_body(),
        Err(error) => ServiceResponse::new(request, error.error_response()),
    };
    if !is_json_error(&response) {
        return Ok(response);
    }
    let (request, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|error| InfraError::internal(format!("reading an error body: {error}")))?;
    let body = match serde_json::from_slice::<ErrorBody>(&bytes) {
        Ok(error) => {
            serde_json::to_vec(&error.for_token_endpoint()).unwrap_or_else(|_| bytes.to_vec())
        }
        Err(_) => bytes.to_vec(),
    };
    Ok(ServiceResponse::new(
        request,
        head.set_body(BoxBody::new(body)),
    ))
}

fn is_json_error(response: &ServiceResponse<BoxBody>) -> bool {
    let status = response.status();
    (status.is_client_error() || status.is_server_error())
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"))
}
