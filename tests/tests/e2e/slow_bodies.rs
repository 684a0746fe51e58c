//! A body that stalls after its headers: 408 `request_timeout` in JSON
//! and the connection closed, for JSON and form routes, with and without
//! chunked encoding, on both services.

use std::time::Duration;

use shared::api::{ErrorBody, ErrorCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::stack::TestStack;

/// Sends `head` and the start of a body, then nothing; returns everything
/// the server wrote until it closed the connection.
async fn stall(base_url: &str, head: String, start: &str) -> String {
    let addr = base_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(start.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    // A guard against a hang, not a timing assertion: the server must
    // close the connection by itself.
    let closed =
        tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut answer)).await;
    assert!(closed.is_ok(), "the connection was still open after 60 s");
    String::from_utf8_lossy(&answer).into_owned()
}

#[track_caller]
fn assert_timed_out(case: &str, answer: &str) {
    assert!(answer.starts_with("HTTP/1.1 408"), "{case}: {answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(
        lower.contains("content-type: application/json"),
        "{case}: {answer}"
    );
    assert!(lower.contains("connection: close"), "{case}: {answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let error: ErrorBody =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{case}: {e}: {body}"));
    assert_eq!(error.error, ErrorCode::RequestTimeout, "{case}");
}

#[tokio::test]
async fn a_body_that_stalls_gets_408_and_the_connection_is_closed() {
    let stack = TestStack::start().await;
    let (_, tokens) = stack.new_session().await;
    let bearer = format!("Authorization: Bearer {}\r\n", tokens.access_token);
    let request = |method: &str, path: &str, content_type: &str, framing: &str, extra: &str| {
        format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\n{framing}\r\n{extra}\r\n"
        )
    };
    let json = "application/json";
    let form = "application/x-www-form-urlencoded";
    let length = "Content-Length: 1000";
    let chunked = "Transfer-Encoding: chunked";
    let (signup, login, patch_chunked, patch_length) = tokio::join!(
        stall(
            &stack.auth.base_url,
            request("POST", "/signup", json, length, ""),
            "{\"email\": "
        ),
        stall(
            &stack.auth.base_url,
            request("POST", "/login", form, chunked, ""),
            "a\r\nusername=a\r\n"
        ),
        stall(
            &stack.profile.base_url,
            request("PATCH", "/me", json, chunked, &bearer),
            "5\r\n{\"bio\r\n"
        ),
        stall(
            &stack.profile.base_url,
            request("PATCH", "/me", json, length, &bearer),
            "{\"bio\": \"a"
        ),
    );
    assert_timed_out("signup, Content-Length", &signup);
    assert_timed_out("login form, chunked", &login);
    assert_timed_out("PATCH /me, chunked", &patch_chunked);
    assert_timed_out("PATCH /me, Content-Length", &patch_length);
    // Nothing half-sent was stored.
    let me: shared::api::ProfileResponse = stack.me(&tokens.access_token).await.expect(200);
    assert_eq!(me.bio, None);
}
