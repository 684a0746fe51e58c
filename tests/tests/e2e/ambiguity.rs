//! Requests that could be read two ways are refused, never guessed at:
//! two `Authorization` or `Content-Type` headers, and bodies in a charset
//! other than one UTF-8.

use serde_json::Value;
use shared::api::{ErrorCode, ProfileResponse};

use crate::support::client::{PASSWORD, send};
use crate::support::stack::TestStack;

#[tokio::test]
async fn two_authorization_headers_are_400_whichever_comes_first() {
    let stack = TestStack::start().await;
    let (email, tokens) = stack.new_session().await;
    let good = format!("Bearer {}", tokens.access_token);
    let bad = "Bearer not.a.token".to_owned();
    for (first, second) in [(&bad, &good), (&good, &bad), (&good, &good)] {
        let reply = send(
            stack
                .client
                .get(stack.profile_url("/me"))
                .header("authorization", first)
                .header("authorization", second),
        )
        .await;
        reply.expect_error(400, ErrorCode::InvalidRequest);
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer error=\"invalid_request\"")
        );
    }
    // The token endpoint, which otherwise ignores Authorization (Swagger
    // UI's Basic Og==), refuses two as well.
    let form = [("username", email.as_str()), ("password", PASSWORD)];
    let reply = send(
        stack
            .client
            .post(stack.auth_url("/login"))
            .header("authorization", "Basic Og==")
            .header("authorization", "Basic Og==")
            .form(&form),
    )
    .await;
    let body = reply.expect_error(400, ErrorCode::InvalidRequest);
    assert!(body.error_description.is_some(), "token endpoints add it");
    // One header is fine.
    send(
        stack
            .client
            .get(stack.profile_url("/me"))
            .header("authorization", &good),
    )
    .await
    .expect::<ProfileResponse>(200);
}

#[tokio::test]
async fn a_charset_other_than_utf8_is_415_on_every_body_taking_route() {
    let stack = TestStack::start().await;
    let (email, tokens) = stack.new_session().await;
    let signup = serde_json::json!({"email": "x@example.com", "password": PASSWORD}).to_string();
    let login = format!("username={email}&password={PASSWORD}");
    let refresh = serde_json::json!({"refresh_token": tokens.refresh_token}).to_string();
    let patch = r#"{"bio": "caf\u00e9"}"#.to_owned();
    for charset in ["utf-16", "latin1", "ISO-8859-1"] {
        let json = format!("application/json; charset={charset}");
        let form = format!("application/x-www-form-urlencoded; charset={charset}");
        let cases = [
            (
                reqwest::Method::POST,
                stack.auth_url("/signup"),
                &json,
                &signup,
            ),
            (
                reqwest::Method::POST,
                stack.auth_url("/login"),
                &form,
                &login,
            ),
            (
                reqwest::Method::POST,
                stack.auth_url("/refresh"),
                &json,
                &refresh,
            ),
            (
                reqwest::Method::POST,
                stack.auth_url("/logout"),
                &json,
                &refresh,
            ),
            (
                reqwest::Method::PATCH,
                stack.profile_url("/me"),
                &json,
                &patch,
            ),
        ];
        for (method, url, content_type, body) in cases {
            let request = stack
                .raw(method, url.clone(), Some(content_type), body.clone())
                .bearer_auth(&tokens.access_token);
            let reply = send(request).await;
            reply.expect_error(415, ErrorCode::UnsupportedMediaType);
            assert!(
                reply.body.contains(&charset.to_ascii_lowercase()),
                "{url}: {}",
                reply.body
            );
        }
    }
    // UTF-8, named or not, is accepted; nothing above changed the account.
    for content_type in [
        "application/json; charset=utf-8",
        "application/json; charset=\"UTF-8\"",
    ] {
        let request = stack
            .raw(
                reqwest::Method::PATCH,
                stack.profile_url("/me"),
                Some(content_type),
                patch.clone(),
            )
            .bearer_auth(&tokens.access_token);
        send(request).await.expect::<Value>(200);
    }
    stack
        .refresh(&tokens.refresh_token)
        .await
        .expect::<Value>(200);
}

#[tokio::test]
async fn two_content_types_are_400_and_any_charset_but_one_utf8_is_415() {
    let stack = TestStack::start().await;
    let email = crate::support::client::new_email();
    let signup = serde_json::json!({"email": email, "password": PASSWORD}).to_string();
    let login = format!("username={email}&password={PASSWORD}");
    let json = "application/json";
    let form = "application/x-www-form-urlencoded";
    let form_two_charsets = format!("{form}; charset=utf-8; charset=latin1");
    // (route, body, the Content-Type headers in order, status)
    let cases = [
        ("/signup", &signup, vec![json, "text/plain"], 400),
        ("/signup", &signup, vec!["text/plain", json], 400),
        ("/signup", &signup, vec![json, json], 400),
        ("/login", &login, vec![form, json], 400),
        (
            "/signup",
            &signup,
            vec!["application/json; charset=utf-8; charset=latin1"],
            415,
        ),
        (
            "/signup",
            &signup,
            vec!["application/json; charset=latin1; charset=utf-8"],
            415,
        ),
        (
            "/signup",
            &signup,
            vec!["application/json; charset=utf-8; charset=utf-8"],
            415,
        ),
        ("/login", &login, vec![form_two_charsets.as_str()], 415),
    ];
    for (path, body, content_types, status) in cases {
        let request = content_types
            .iter()
            .fold(stack.client.post(stack.auth_url(path)), |request, value| {
                request.header("content-type", *value)
            })
            .body(body.clone());
        let reply = send(request).await;
        let code = if status == 400 {
            ErrorCode::InvalidRequest
        } else {
            ErrorCode::UnsupportedMediaType
        };
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{path} {content_types:?}: {}",
            reply.body
        );
        reply.expect_error(status, code);
    }
    // None of them made the account: its signup now is the first.
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
}
