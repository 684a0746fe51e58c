//! Reading requests the contract's way: the extractor configs that answer
//! bad JSON, bad forms, a wrong content type, bodies over 64 KiB and bodies
//! that stall with the JSON error body; [`JsonBody`] (JSON objects only)
//! and [`FormBody`], which both refuse two `Content-Type` headers and a
//! charset other than one UTF-8; and [`OneAuthorization`], which refuses a
//! request with two `Authorization` headers instead of letting the first
//! win. What they do with the bytes
//! of a body is [`parse_json`] and [`parse_form`], pure so they can be
//! fuzzed (`fuzz/`).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::{InternalError, JsonPayloadError, PayloadError, UrlencodedError};
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use shared::api::{ErrorBody, ErrorCode};

use crate::body_deadline::{BODY_TIMEOUT, is_body_timeout};
use crate::error::error_response;

/// The largest request body either service reads, JSON and forms alike.
pub const BODY_LIMIT: usize = 64 * 1024;

const FORM: &str = "application/x-www-form-urlencoded";

fn payload_error(error: &PayloadError) -> (StatusCode, ErrorBody) {
    match error {
        PayloadError::Overflow => too_large(),
        error if is_body_timeout(error) => (
            StatusCode::REQUEST_TIMEOUT,
            ErrorBody::new(
                ErrorCode::RequestTimeout,
                format!(
                    "The request body did not arrive within {} s of its headers.",
                    BODY_TIMEOUT.as_secs()
                ),
            ),
        ),
        _ => invalid_request("The request body could not be read.".into()),
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
        JsonPayloadError::Deserialize(inner) => not_deserialized(inner),
        JsonPayloadError::Payload(inner) => payload_error(inner),
        _ => invalid_request("The request body could not be read.".into()),
    }
}

fn not_deserialized(error: &serde_json::Error) -> (StatusCode, ErrorBody) {
    if error.is_data() {
        wrong_shape(error)
    } else {
        invalid_request("The request body is not valid JSON.".into())
    }
}

fn wrong_shape(error: &serde_json::Error) -> (StatusCode, ErrorBody) {
    match missing_field(&error.to_string()) {
        Some(field) => missing(field),
        None => invalid_request(format!(
            "The JSON body does not have the expected shape: {error}."
        )),
    }
}

/// The field serde's "missing field `password`" names (its only wording).
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// 400 (a wrong shape) with `fields` naming what is missing.
fn missing(field: &str) -> (StatusCode, ErrorBody) {
    (StatusCode::BAD_REQUEST, ErrorBody::missing_fields(&[field]))
}

/// The contract's answer to a form body actix could not extract.
pub fn form_error(error: &UrlencodedError) -> (StatusCode, ErrorBody) {
    match error {
        UrlencodedError::Overflow { .. } => too_large(),
        UrlencodedError::ContentType => unsupported_media_type(FORM),
        UrlencodedError::Parse(inner) => match missing_field(&inner.to_string()) {
            Some(field) => missing(field),
            None => invalid_request(format!(
                "The form body does not have the expected shape: {inner}."
            )),
        },
        UrlencodedError::Payload(inner) => payload_error(inner),
        _ => invalid_request("The form body could not be read.".into()),
    }
}

fn reject<E>(error: E, (status, body): (StatusCode, ErrorBody)) -> actix_web::Error
where
    E: std::fmt::Debug + std::fmt::Display + 'static,
{
    InternalError::from_response(error, error_response(status, &body)).into()
}

/// JSON extraction with the 64 KiB limit and the contract's error bodies.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(BODY_LIMIT)
        .error_handler(|error, _| {
            let answer = json_error(&error);
            reject(error, answer)
        })
}

/// Form extraction with the 64 KiB limit and the contract's error bodies.
pub fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(BODY_LIMIT)
        .error_handler(|error, _| {
            let answer = form_error(&error);
            reject(error, answer)
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
        if let Err(error) = one_utf8_content_type(req, "application/json") {
            return Box::pin(std::future::ready(Err(error)));
        }
        // actix reads the body and checks it is JSON (the first half of
        // `parse_json`), answering through `json_config`.
        let raw = web::Json::<Box<RawValue>>::from_request(req, payload);
        Box::pin(async move {
            let web::Json(raw) = raw.await?;
            parse_object(raw.get()).map(JsonBody).map_err(|error| {
                let answer = error.answer();
                reject(error, answer)
            })
        })
    }
}

/// A form body of `T`'s shape (`web::Form` with the contract's errors),
/// refusing a charset other than UTF-8: actix would otherwise decode
/// `charset=latin1` bodies, and two byte strings could become one password.
pub struct FormBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for FormBody<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if let Err(error) = one_utf8_content_type(req, FORM) {
            return Box::pin(std::future::ready(Err(error)));
        }
        let form = web::Form::<T>::from_request(req, payload);
        Box::pin(async move { Ok(FormBody(form.await?.into_inner())) })
    }
}

/// A form body as `T`, decoded exactly as `web::Form` (and so [`FormBody`])
/// decodes the bytes it read: with `serde_urlencoded`. Pure, for the fuzzer.
pub fn parse_form<T: DeserializeOwned>(body: &[u8]) -> Result<T, UrlencodedError> {
    serde_urlencoded::from_bytes(body).map_err(UrlencodedError::Parse)
}

/// One `Content-Type` naming at most one charset, UTF-8: two headers are
/// 400 (which one counts would be a guess, as with two `Authorization`
/// headers), a charset other than UTF-8, or `charset` given twice, 415.
fn one_utf8_content_type(req: &HttpRequest, expected: &str) -> Result<(), actix_web::Error> {
    if req.headers().get_all(header::CONTENT_TYPE).count() > 1 {
        let detail = "Send one Content-Type header, not several.".to_owned();
        return Err(reject("two Content-Type headers", invalid_request(detail)));
    }
    let charsets: Vec<String> = match req.mime_type() {
        Ok(Some(mime)) => mime
            .params()
            .filter(|(name, _)| *name == "charset")
            .map(|(_, value)| value.as_str().trim_matches('"').to_ascii_lowercase())
            .collect(),
        _ => Vec::new(),
    };
    let refused = match charsets.as_slice() {
        [] => return Ok(()),
        [one] if matches!(one.as_str(), "utf-8" | "utf8") => return Ok(()),
        [other] => format!("not charset={other}"),
        _ => "with one charset parameter, not several".to_owned(),
    };
    let (status, mut body) = unsupported_media_type(expected);
    body.detail = format!("The request body must be UTF-8 ({expected}; charset=utf-8), {refused}.");
    Err(reject("charset is not UTF-8", (status, body)))
}

/// Asserts a request carries at most one `Authorization` header: with two,
/// which one counts would be a guess, so neither does (400).
pub struct OneAuthorization;

impl OneAuthorization {
    /// Whether `req` has more than one `Authorization` header.
    pub fn is_ambiguous(req: &HttpRequest) -> bool {
        req.headers().get_all(header::AUTHORIZATION).count() > 1
    }
}

impl FromRequest for OneAuthorization {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(if Self::is_ambiguous(req) {
            let detail = "Send one Authorization header, not several.".to_owned();
            Err(reject("two Authorization headers", invalid_request(detail)))
        } else {
            Ok(Self)
        })
    }
}

/// Why a JSON body was refused once it was read.
#[derive(Debug, thiserror::Error)]
pub enum JsonBodyError {
    /// Not JSON (`web::Json` refuses these before [`JsonBody`] sees them).
    #[error("not JSON: {0}")]
    Syntax(serde_json::Error),
    /// JSON, but not an object.
    #[error("not an object")]
    NotAnObject,
    /// An object, but not of the expected shape (a key given twice, say).
    #[error("{0}")]
    Shape(serde_json::Error),
}

impl JsonBodyError {
    /// The contract's answer: what [`json_config`] and [`JsonBody`] send.
    pub fn answer(&self) -> (StatusCode, ErrorBody) {
        match self {
            Self::Syntax(error) => not_deserialized(error),
            Self::NotAnObject => invalid_request("The JSON body must be an object.".into()),
            Self::Shape(error) => wrong_shape(error),
        }
    }
}

/// A JSON body as an object of `T`'s shape: what `web::Json` and then
/// [`JsonBody`] do with the bytes of a body.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, JsonBodyError> {
    let raw: Box<RawValue> = serde_json::from_slice(body).map_err(JsonBodyError::Syntax)?;
    parse_object(raw.get())
}

/// `text` (already known to be JSON) as an object of `T`'s shape.
fn parse_object<T: DeserializeOwned>(text: &str) -> Result<T, JsonBodyError> {
    if !text.trim_start().starts_with('{') {
        return Err(JsonBodyError::NotAnObject);
    }
    serde_json::from_str(text).map_err(JsonBodyError::Shape)
}
