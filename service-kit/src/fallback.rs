//! Answers for requests no handler of ours shapes: 404 for an unknown
//! route (naming the other service when the route is its), 405 (with
//! `Allow`) for a wrong method, and the outermost middleware that gives
//! any other non-JSON error (a CORS refusal, say) the contract's JSON body.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse};
use shared::api::{ErrorBody, ErrorCode};

use crate::error::{INTERNAL_DETAIL, error_response};

/// The other service of the stack, which a 404 names when the path is one
/// of its routes (`GET :8001/me` is a request for the profile service).
#[derive(Debug, Clone, Copy)]
pub struct OtherService {
    /// Its binary's name, `profile-service`.
    pub name: &'static str,
    /// Its port unless configured otherwise.
    pub default_port: u16,
    /// Its public routes.
    pub routes: &'static [&'static str],
}

/// The app's default service: 404 `not_found`, pointing to `other` when
/// the path is one of its routes.
pub fn not_found(
    this: &'static str,
    other: OtherService,
) -> impl Fn(HttpRequest) -> std::future::Ready<HttpResponse> + Clone {
    move |req: HttpRequest| {
        let path = req.path();
        let detail = if other.routes.contains(&path) {
            format!(
                "There is no such route here: {path} is a route of {} (port {} by default), not of {this}.",
                other.name, other.default_port
            )
        } else {
            "There is no such route.".to_owned()
        };
        let body = ErrorBody::new(ErrorCode::NotFound, detail);
        std::future::ready(error_response(StatusCode::NOT_FOUND, &body))
    }
}

/// A resource's default service: 405 `method_not_allowed` with `Allow`.
pub fn method_not_allowed(
    allowed: &'static [Method],
) -> impl Fn(HttpRequest) -> std::future::Ready<HttpResponse> + Clone {
    move |_: HttpRequest| {
        let allow: Vec<&str> = allowed.iter().map(Method::as_str).collect();
        let body = ErrorBody::new(
            ErrorCode::MethodNotAllowed,
            format!("This route only accepts {}.", allow.join(", ")),
        );
        let mut response = error_response(StatusCode::METHOD_NOT_ALLOWED, &body);
        if let Ok(value) = header::HeaderValue::from_str(&allow.join(", ")) {
            response.headers_mut().insert(header::ALLOW, value);
        }
        std::future::ready(response)
    }
}

/// Outermost middleware: a 4xx/5xx answered without a JSON body (a CORS
/// refusal, say, which actix-cors answers in plain text) gets the
/// contract's body, keeping its status. Our own errors are JSON already.
/// A 5xx body is always the generic one: an error's text may hold a cause
/// no client should see.
pub async fn json_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let response = next.call(req).await?;
    if !needs_json_body(&response) {
        return Ok(response.map_into_left_body());
    }
    let status = response.status();
    let detail = match response.response().error() {
        _ if status.is_server_error() => INTERNAL_DETAIL.to_owned(),
        Some(error) => format!("{error}."),
        None => format!("{}.", status.canonical_reason().unwrap_or("Request failed")),
    };
    Ok(response
        .into_response(fallback_response(status, detail))
        .map_into_right_body())
}

fn needs_json_body<B>(response: &ServiceResponse<B>) -> bool {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    (status.is_client_error() || status.is_server_error()) && !is_json
}

fn fallback_response(status: StatusCode, detail: String) -> HttpResponse {
    let code = match status {
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::REQUEST_TIMEOUT => ErrorCode::RequestTimeout,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::UNAUTHORIZED => ErrorCode::InvalidToken,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::Unavailable,
        status if status.is_server_error() => ErrorCode::Internal,
        _ => ErrorCode::InvalidRequest,
    };
    error_response(status, &ErrorBody::new(code, detail))
}
