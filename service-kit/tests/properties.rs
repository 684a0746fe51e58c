//! Properties of the body extractors over generated requests: `FormBody`
//! answers exactly as actix's `web::Form` (with `form_config`) would, and
//! `JsonBody` as `parse_json` says; nothing panics; a parameter or field
//! given twice is refused. `fuzz/` searches the same ground with coverage
//! feedback; these run with the unit tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::test::TestRequest;
use actix_web::{FromRequest, HttpRequest, web};
use futures::executor::block_on;
use proptest::prelude::*;
use serde::Deserialize;
use service_kit::extract::{
    BODY_LIMIT, FormBody, JsonBody, form_config, form_error, json_config, parse_form, parse_json,
};
use shared::api::{ErrorCode, REQUIRED};
use std::collections::BTreeMap;

/// The `/login` form's shape: optional strings, refused when repeated.
#[derive(Debug, PartialEq, Deserialize)]
struct Login {
    username: Option<String>,
    password: Option<String>,
}

/// A JSON body's shape: required strings.
#[derive(Debug, PartialEq, Deserialize)]
struct Signup {
    email: String,
    password: String,
}

type Pairs = Vec<(String, String)>;

/// The status and body an extractor answered with, or what it extracted.
type Outcome<T> = Result<T, (u16, String)>;

fn answer(error: &actix_web::Error) -> (u16, String) {
    let response = error.error_response();
    let status = response.status().as_u16();
    let body = block_on(actix_web::body::to_bytes(response.into_body())).unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A POST of `body` in one chunk, with the app data both services
/// register; `Content-Length` only when `length` is given.
fn request(
    content_type: Option<&str>,
    length: Option<&str>,
    body: &[u8],
) -> (HttpRequest, Payload) {
    let mut request = TestRequest::post()
        .app_data(form_config())
        .app_data(json_config());
    if let Some(content_type) = content_type {
        request = request.insert_header((header::CONTENT_TYPE, content_type));
    }
    if let Some(length) = length {
        request = request.insert_header((header::CONTENT_LENGTH, length));
    }
    (request.to_http_request(), Payload::from(body.to_vec()))
}

fn form_body((req, mut payload): (HttpRequest, Payload)) -> Outcome<Pairs> {
    block_on(FormBody::<Pairs>::from_request(&req, &mut payload))
        .map(|form| form.0)
        .map_err(|error| answer(&error))
}

fn actix_form((req, mut payload): (HttpRequest, Payload)) -> Outcome<Pairs> {
    block_on(web::Form::<Pairs>::from_request(&req, &mut payload))
        .map(web::Form::into_inner)
        .map_err(|error| answer(&error))
}

fn json_body((req, mut payload): (HttpRequest, Payload)) -> Outcome<Signup> {
    block_on(JsonBody::<Signup>::from_request(&req, &mut payload))
        .map(|json| json.0)
        .map_err(|error| answer(&error))
}

/// Content types `FormBody` does not refuse for their charset alone.
fn form_content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(prop::sample::select(vec![
        "application/x-www-form-urlencoded",
        "Application/X-WWW-Form-Urlencoded",
        "application/x-www-form-urlencoded; charset=UTF-8",
        "application/x-www-form-urlencoded;charset=utf8",
        "application/x-www-form-urlencoded; charset",
        "application/x-www-form-urlencoded; boundary=x",
        "application/json",
        "text/plain",
        "",
    ]))
}

fn content_length() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        (0..=2 * BODY_LIMIT).prop_map(|n| n.to_string()),
        "[ +-]?[0-9a-f]{0,21}",
    ])
}

/// Form bodies: mostly pairs of short keys and values with escapes, some
/// raw bytes.
fn form_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<Vec<u8>>(),
        "((username|password|%75sername|[a-z%+]{0,3})(=([a-z0-9+%]|%[0-9A-Fa-f]{2}|%[^0-9A-Fa-f]){0,8})?&?){0,5}"
            .prop_map(String::into_bytes),
    ]
}

/// A JSON string holding any text.
fn json_string() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|s| serde_json::Value::from(s).to_string())
}

fn json_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<Vec<u8>>(),
        (json_string(), json_string()).prop_map(|(email, password)| {
            format!(r#" {{"email": {email}, "password": {password}}}"#).into_bytes()
        }),
        "[\\[\\]{}\",:0-9a-z ]{0,30}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn form_body_answers_as_actix_web_form(
        content_type in form_content_type(),
        length in content_length(),
        body in form_bytes(),
    ) {
        let make = || request(content_type, length.as_deref(), &body);
        prop_assert_eq!(form_body(make()), actix_form(make()));
    }

    #[test]
    fn a_repeated_parameter_is_refused(
        first in "[a-z%0-9]{0,8}",
        second in "[a-z%0-9]{0,8}",
        name in prop::sample::select(vec!["username", "password", "user%6Eame", "pass%77ord"]),
        rest in form_bytes(),
    ) {
        let plain = name.replace("%6E", "n").replace("%77", "w");
        let body = format!("{plain}={first}&{}&{name}={second}", String::from_utf8_lossy(&rest));
        prop_assert!(parse_form::<Login>(body.as_bytes()).is_err(), "{body}");
    }

    #[test]
    fn json_body_answers_as_parse_json_says(body in json_bytes()) {
        let length = body.len().to_string();
        let extracted = json_body(request(Some("application/json"), Some(&length), &body));
        match parse_json::<Signup>(&body) {
            Ok(parsed) => prop_assert_eq!(extracted.unwrap(), parsed),
            Err(error) => {
                let (status, body) = error.answer();
                let expected = (status.as_u16(), serde_json::to_string(&body).unwrap());
                prop_assert_eq!(extracted.unwrap_err(), expected);
            }
        }
    }

    #[test]
    fn only_objects_are_accepted(body in json_bytes()) {
        if parse_json::<Signup>(&body).is_ok() {
            let object = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&body);
            prop_assert!(object.is_ok());
        }
    }

    #[test]
    fn a_missing_field_is_400_and_named_in_fields(
        json_value in json_string(),
        form_value in "[a-z0-9%+]{0,8}",
        present in prop::sample::select(vec!["email", "password"]),
    ) {
        let missing = if present == "email" { "password" } else { "email" };
        let expected = Some(BTreeMap::from([(missing.to_owned(), REQUIRED.to_owned())]));
        let json = format!(r#"{{"{present}": {json_value}}}"#);
        let (status, body) = parse_json::<Signup>(json.as_bytes()).unwrap_err().answer();
        prop_assert_eq!((status.as_u16(), body.error, body.fields), (400, ErrorCode::InvalidRequest, expected.clone()));
        let form = format!("{present}={form_value}");
        let (status, body) = form_error(&parse_form::<Signup>(form.as_bytes()).unwrap_err());
        prop_assert_eq!((status.as_u16(), body.error, body.fields), (400, ErrorCode::InvalidRequest, expected));
    }

    #[test]
    fn a_repeated_field_is_refused(
        email in json_string(),
        password in json_string(),
        again in prop::sample::select(vec!["email", "password", "em\\u0061il", "pass\\u0077ord"]),
        value in json_string(),
    ) {
        let body = format!(r#"{{"email": {email}, "{again}": {value}, "password": {password}}}"#);
        prop_assert!(parse_json::<Signup>(body.as_bytes()).is_err(), "{body}");
    }
}

#[test]
fn form_bodies_over_the_limit_are_413_with_or_without_a_length() {
    let body = vec![b'a'; BODY_LIMIT + 1];
    let form = Some("application/x-www-form-urlencoded");
    for length in [None, Some("65537"), Some("10")] {
        let ours = form_body(request(form, length, &body));
        assert_eq!(ours, actix_form(request(form, length, &body)), "{length:?}");
        assert_eq!(ours.unwrap_err().0, 413, "{length:?}");
    }
    let at_limit = vec![b'a'; BODY_LIMIT];
    assert!(form_body(request(form, None, &at_limit)).is_ok());
}

#[test]
fn undecodable_form_values_arrive_as_replacement_characters() {
    let body = b"username=zo\xc3%AB&password=%FF%FE";
    let pairs = parse_form::<Pairs>(body).unwrap();
    let expected = [("username", "zo\u{eb}"), ("password", "\u{fffd}\u{fffd}")];
    assert_eq!(
        pairs,
        expected.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec()
    );
}
