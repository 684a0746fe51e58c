//! `POST /signup`.

use futures::future::join_all;
use serde_json::json;
use shared::api::{ErrorCode, UserResponse};

use crate::support::client::{PASSWORD, new_email, send};
use crate::support::stack::TestStack;

#[tokio::test]
async fn signup_returns_201_with_the_email_trimmed_and_lower_cased() {
    let stack = TestStack::start().await;
    let email = new_email();
    let reply = stack
        .signup(&format!("  {}  ", email.to_uppercase()), PASSWORD)
        .await;
    let user: UserResponse = reply.expect(201);
    assert_eq!(user.email, email);
    let raw: serde_json::Value = reply.json();
    let created_at = raw["created_at"].as_str().unwrap_or_default();
    assert!(created_at.ends_with('Z'), "not UTC RFC 3339: {created_at}");
    assert!(chrono::DateTime::parse_from_rfc3339(created_at).is_ok());
    assert_eq!(
        raw.as_object().map(|o| o.len()),
        Some(3),
        "only id, email, created_at: {raw}"
    );
}

#[tokio::test]
async fn signup_with_taken_email_is_409_whatever_its_case() {
    let stack = TestStack::start().await;
    let email = new_email();
    stack
        .signup(&email, PASSWORD)
        .await
        .expect::<UserResponse>(201);
    stack
        .signup(&email.to_uppercase(), "another password")
        .await
        .expect_error(409, ErrorCode::EmailTaken);
    // The first account's password still works: nothing was overwritten.
    stack
        .login(&email, PASSWORD)
        .await
        .expect::<serde_json::Value>(200);
}

#[tokio::test]
async fn twenty_concurrent_signups_of_one_email_give_exactly_one_201() {
    // All twenty come from one client network, which may hold a quarter of
    // the hashing queue's places: make that quarter hold them all.
    let stack = TestStack::builder()
        .auth_env("HASH_QUEUE_MAX", "128")
        .start()
        .await;
    let email = new_email();
    let attempts = (0..20).map(|_| stack.signup(&email, PASSWORD));
    let replies = join_all(attempts).await;
    let created = replies.iter().filter(|r| r.status.as_u16() == 201).count();
    let taken = replies.iter().filter(|r| r.status.as_u16() == 409).count();
    assert_eq!(
        (created, taken),
        (1, 19),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn signup_with_bad_values_is_422_naming_the_field() {
    let stack = TestStack::start().await;
    let long_email = format!("{}@example.com", "a".repeat(64))
        .replace("@", &format!("@{}.", "b".repeat(63)))
        + &format!(".{}.{}", "c".repeat(63), "d".repeat(63));
    let cases: &[(&str, String, String)] = &[
        ("email", "not-an-email".into(), PASSWORD.into()),
        ("email", "".into(), PASSWORD.into()),
        ("email", "nul\u{0}@example.com".into(), PASSWORD.into()),
        ("email", long_email, PASSWORD.into()),
        ("password", new_email(), "short".into()),
        ("password", new_email(), "x".repeat(73)),
        ("password", new_email(), format!("{}é", "a".repeat(71))),
        ("password", new_email(), "with a nul\u{0} inside".into()),
    ];
    for (field, email, password) in cases {
        let body = stack
            .signup(email, password)
            .await
            .expect_error(422, ErrorCode::ValidationError);
        let fields = body.fields.unwrap_or_default();
        assert!(
            fields.contains_key(*field),
            "{field} not named for {email:?}: {fields:?}"
        );
        assert!(
            !serde_json::to_string(&fields)
                .unwrap_or_default()
                .contains(password.as_str())
                || password.len() < 6
        );
    }
}

#[tokio::test]
async fn signup_reports_every_bad_field_at_once() {
    let stack = TestStack::start().await;
    let fields = stack
        .signup("nope", "short")
        .await
        .expect_error(422, ErrorCode::ValidationError)
        .fields
        .unwrap_or_default();
    assert!(
        fields.contains_key("email") && fields.contains_key("password"),
        "{fields:?}"
    );
}

#[tokio::test]
async fn signup_limits_are_inclusive() {
    let stack = TestStack::start().await;
    let domain = format!(
        "{}.{}.{}.com",
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(63)
    );
    let email = format!("{}@{domain}", "a".repeat(254 - 1 - domain.len()));
    assert_eq!(email.chars().count(), 254);
    stack
        .signup(&email, &"p".repeat(72))
        .await
        .expect::<UserResponse>(201);
    stack
        .signup(&new_email(), "12345678")
        .await
        .expect::<UserResponse>(201);
}

#[tokio::test]
async fn signup_with_the_wrong_shape_is_400() {
    let stack = TestStack::start().await;
    let cases = [
        "not json at all",
        "{\"email\": \"a@example.com\"",
        "{\"email\": \"a@example.com\"}",
        "{\"password\": \"correct horse\"}",
        "{\"email\": 5, \"password\": \"correct horse\"}",
        "[\"a@example.com\", \"correct horse\"]",
        "{\"email\": \"c@example.com\", \"email\": \"d@example.com\", \"password\": \"correct horse\"}",
        "null",
        "",
    ];
    for body in cases {
        let reply = send(stack.raw(
            reqwest::Method::POST,
            stack.auth_url("/signup"),
            Some("application/json"),
            body,
        ))
        .await;
        reply.expect_error(400, ErrorCode::InvalidRequest);
    }
}

#[tokio::test]
async fn signup_without_json_content_type_is_415() {
    let stack = TestStack::start().await;
    let body = json!({"email": new_email(), "password": PASSWORD}).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let request = stack.raw(
            reqwest::Method::POST,
            stack.auth_url("/signup"),
            content_type,
            body.clone(),
        );
        send(request)
            .await
            .expect_error(415, ErrorCode::UnsupportedMediaType);
    }
}

#[tokio::test]
async fn bodies_over_64_kib_are_413_chunked_or_not() {
    let stack = TestStack::start().await;
    let padding = "x".repeat(64 * 1024);
    let body = json!({"email": new_email(), "password": PASSWORD, "padding": padding}).to_string();
    let sized = send(stack.raw(
        reqwest::Method::POST,
        stack.auth_url("/signup"),
        Some("application/json"),
        body.clone(),
    ))
    .await;
    sized.expect_error(413, ErrorCode::PayloadTooLarge);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = body
        .as_bytes()
        .chunks(4096)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let chunked = send(stack.raw(
        reqwest::Method::POST,
        stack.auth_url("/signup"),
        Some("application/json"),
        reqwest::Body::wrap_stream(futures::stream::iter(chunks)),
    ))
    .await;
    chunked.expect_error(413, ErrorCode::PayloadTooLarge);
    let form = format!("username={}&password=x&padding={padding}", new_email());
    let login = send(stack.raw(
        reqwest::Method::POST,
        stack.auth_url("/login"),
        Some("application/x-www-form-urlencoded"),
        form,
    ))
    .await;
    let body = login.expect_error(413, ErrorCode::PayloadTooLarge);
    assert!(
        body.error_description.is_some(),
        "token endpoint errors carry error_description"
    );
}
