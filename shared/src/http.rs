//! HTTP plumbing both services share, so every answer they give follows the
//! contract's error format: the extractor configs (bad JSON, bad forms,
//! wrong content type, bodies over 64 KiB), the 404/405 fallbacks, CORS, the
//! access log and a last-resort middleware that turns any non-JSON error
//! (a CORS refusal, say) into the JSON body.

use actix_cors::Cors;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::Payload;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::{InternalError, JsonPayloadError, PayloadError, UrlencodedError};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;

use crate::api::{ErrorBody, ErrorCode};

/// The largest request body either service reads, JSON and forms alike.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The response for `body` with `status` and `Content-Type: application/json`.
pub fn error_response(status: StatusCode, body: &ErrorBody) -> HttpResponse {
    HttpResponse::build(status).json(body)
}

/// Which error format an endpoint speaks: token endpoints add
/// `error_description` for OAuth 2.0 client libraries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorStyle {
    /// `{"error", "detail"}`.
    Plain,
    /// `{"error", "detail", "error_description"}`.
    TokenEndpoint,
}

impl ErrorStyle {
    /// `body`, with `error_description` when this is a token endpoint.
    pub fn apply(self, body: ErrorBody) -> ErrorBody {
        match self {
            Self::Plain => body,
            Self::TokenEndpoint => body.for_token_endpoint(),
        }
    }
}

fn payload_error(error: &PayloadError) -> (StatusCode, ErrorBody) {
    match error {
        PayloadError::Overflow => too_large(),
        _ => (
            StatusCode::BAD_REQUEST,
            ErrorBody::new(
                ErrorCode::InvalidRequest,
                "The request body could not be read.",
            ),
        ),
    }
}

fn too_large() -> (StatusCode, ErrorBody) {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorBody::new(
            ErrorCode::PayloadTooLarge,
            format!("The request body is larger than {} KiB.", BODY_LIMIT / 1024),
        ),
    )
}

fn unsupported_media_type(expected: &str) -> (StatusCode, ErrorBody) {
    (
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorBody::new(
            ErrorCode::UnsupportedMediaType,
            format!("The request body must be sent with Content-Type: {expected}."),
        ),
    )
}

fn invalid_request(detail: String) -> (StatusCode, ErrorBody) {
    (
        StatusCode::BAD_REQUEST,
        ErrorBody::new(ErrorCode::InvalidRequest, detail),
    )
}

/// The contract's answer to a JSON body actix could not extract.
pub fn json_error(error: &JsonPayloadError) -> (StatusCode, ErrorBody) {
    match error {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            too_large()
        }
        JsonPayloadError::ContentType => unsupported_media_type("application/json"),
        JsonPayloadError::Deserialize(inner) if inner.is_data() => invalid_request(format!(
            "The JSON body does not have the expected shape: {inner}."
        )),
        JsonPayloadError::Deserialize(_) => {
            invalid_request("The request body is not valid JSON.".into())
        }
        JsonPayloadError::Payload(inner) => payload_error(inner),
        _ => invalid_request("The request body could not be read.".into()),
    }
}

/// The contract's answer to a form body actix could not extract.
pub fn form_error(error: &UrlencodedError) -> (StatusCode, ErrorBody) {
    match error {
        UrlencodedError::Overflow { .. } => too_large(),
        UrlencodedError::ContentType => unsupported_media_type("application/x-www-form-urlencoded"),
        UrlencodedError::Parse(inner) => invalid_request(format!(
            "The form body does not have the expected shape: {inner}."
        )),
        UrlencodedError::Payload(inner) => payload_error(inner),
        _ => invalid_request("The form body could not be read.".into()),
    }
}

/// The error style of the route `req` is for: [`ErrorStyle::Plain`]
/// unless the resource registered another as app data.
pub fn error_style(req: &HttpRequest) -> ErrorStyle {
    req.app_data::<ErrorStyle>()
        .copied()
        .unwrap_or(ErrorStyle::Plain)
}

fn reject<E>(
    error: E,
    req: &HttpRequest,
    (status, body): (StatusCode, ErrorBody),
) -> actix_web::Error
where
    E: std::fmt::Debug + std::fmt::Display + 'static,
{
    InternalError::from_response(error, error_response(status, &error_style(req).apply(body)))
        .into()
}

/// JSON extraction with the 64 KiB limit and the contract's error bodies.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(BODY_LIMIT)
        .error_handler(|error, req| {
            let answer = json_error(&error);
            reject(error, req, answer)
        })
}

/// Form extraction with the 64 KiB limit and the contract's error bodies.
pub fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(BODY_LIMIT)
        .error_handler(|error, req| {
            let answer = form_error(&error);
            reject(error, req, answer)
        })
}

/// A JSON body that must be an object of `T`'s shape. `web::Json` alone
/// would also build a struct from an array (`["a@b.c", "pw"]`), which no
/// client means; this refuses it with 400 like any other wrong shape, and
/// so does serde for a key given twice.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let raw = web::Json::<Box<serde_json::value::RawValue>>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let web::Json(raw) = raw.await?;
            let text = raw.get();
            if !text.trim_start().starts_with('{') {
                let detail = "The JSON body must be an object.".to_owned();
                return Err(reject("not an object", &req, invalid_request(detail)));
            }
            serde_json::from_str(text).map(JsonBody).map_err(|error| {
                let detail = format!("The JSON body does not have the expected shape: {error}.");
                reject(error, &req, invalid_request(detail))
            })
        })
    }
}

/// The app's default service: 404 `not_found`.
pub async fn not_found() -> HttpResponse {
    error_response(
        StatusCode::NOT_FOUND,
        &ErrorBody::new(ErrorCode::NotFound, "There is no such route."),
    )
}

/// A resource's default service: 405 `method_not_allowed` with `Allow`, in
/// the route's [`ErrorStyle`] (so token endpoints add `error_description`).
pub fn method_not_allowed(
    allowed: &'static [Method],
) -> impl Fn(HttpRequest) -> std::future::Ready<HttpResponse> + Clone {
    move |req: HttpRequest| {
        let allow: Vec<&str> = allowed.iter().map(Method::as_str).collect();
        let body = ErrorBody::new(
            ErrorCode::MethodNotAllowed,
            format!("This route only accepts {}.", allow.join(", ")),
        );
        let mut response = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &error_style(&req).apply(body),
        );
        if let Ok(value) = header::HeaderValue::from_str(&allow.join(", ")) {
            response.headers_mut().insert(header::ALLOW, value);
        }
        std::future::ready(response)
    }
}

/// CORS for `origins` (none: CORS stays off, browsers refuse cross-origin
/// calls). Preflights from other origins are refused with 400.
pub fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods([Method::GET, Method::POST, Method::PATCH, Method::OPTIONS])
        // Swagger UI's token request always sends X-Requested-With.
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::HeaderName::from_static("x-requested-with"),
        ])
        .expose_headers([header::WWW_AUTHENTICATE, header::RETRY_AFTER])
        .max_age(3600)
}

/// Outermost middleware: a 4xx/5xx answered without a JSON body (a CORS
/// refusal, say, which actix-cors answers in plain text) gets the
/// contract's body, keeping its status. Our own errors are JSON already.
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
        Some(error) => format!("{error}."),
        None => format!("{}.", status.canonical_reason().unwrap_or("Request failed")),
    };
    Ok(response
        .into_response(fallback_response(status, detail))
        .map_into_right_body())
}

/// One log line per request: method, path (never the query string, which
/// could carry a secret), status and latency, inside the request's span.
pub async fn access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let outcome = next.call(req).await;
    let status = match &outcome {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if status.is_server_error() {
        tracing::warn!(%method, %path, status = status.as_u16(), latency_ms, "request");
    } else {
        tracing::info!(%method, %path, status = status.as_u16(), latency_ms, "request");
    }
    outcome
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
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::UNAUTHORIZED => ErrorCode::InvalidToken,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::Unavailable,
        status if status.is_server_error() => ErrorCode::Internal,
        _ => ErrorCode::InvalidRequest,
    };
    error_response(status, &ErrorBody::new(code, detail))
}
