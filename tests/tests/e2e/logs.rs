//! What operators read: one JSON line per request, never a secret.

use std::time::Duration;

use serde_json::Value;
use shared::api::ErrorCode;

use crate::support::client::new_email;
use crate::support::stack::TestStack;

#[tokio::test]
async fn logs_are_json_lines_without_passwords_hashes_or_tokens() {
    let stack = TestStack::start().await;
    let email = new_email();
    let password = "a very distinctive password 42";
    stack.signup(&email, password).await.expect::<Value>(201);
    stack
        .login(&email, "another distinctive password")
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    let tokens: shared::api::TokenResponse = stack.login(&email, password).await.expect(200);
    let next: shared::api::TokenResponse = stack.refresh(&tokens.refresh_token).await.expect(200);
    stack.me(&next.access_token).await.expect::<Value>(200);
    stack
        .me("forged.token.value")
        .await
        .expect_error(401, ErrorCode::InvalidToken);
    stack.logout(&next.refresh_token).await;
    let hash = crate::support::db::password_hash(&mut stack.auth.db(), &email);
    // The last requests' lines are written after their responses: wait
    // for them rather than for a while.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let logged = |lines: Vec<String>, path: &str| {
        lines
            .iter()
            .filter(|l| l.contains("\"message\":\"request\"") && l.contains(path))
            .count()
    };
    while logged(stack.auth.logs(), "/logout") < 1 || logged(stack.profile.logs(), "/me") < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "request lines missing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let logs: Vec<String> = stack
        .auth
        .logs()
        .into_iter()
        .chain(stack.profile.logs())
        .collect();
    assert!(logs.len() > 10, "too few log lines: {logs:?}");
    let secrets = [
        password,
        "another distinctive password",
        &hash,
        &tokens.access_token,
        &tokens.refresh_token,
        &next.access_token,
        &next.refresh_token,
        &stack.access_secret,
        &stack.refresh_secret,
        "forged.token.value",
    ];
    for line in &logs {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "not JSON: {line}"
        );
        for secret in secrets {
            assert!(!line.contains(secret), "a secret is logged: {line}");
        }
    }
    let requests = logs
        .iter()
        .filter(|l| l.contains("\"message\":\"request\""))
        .count();
    assert!(
        requests >= 6,
        "one line per request expected, saw {requests}"
    );
    assert!(
        logs.iter().any(|l| l.contains("\"session\"")),
        "requests are tied to sessions"
    );
}

/// Sends `bytes` on a connection of its own and reads the answer to its end.
async fn raw_exchange(base_url: &str, bytes: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer));
    assert!(read.await.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_clients_mistakes_are_logged_capped_and_never_as_errors() {
    let stack = TestStack::start().await;
    let long = "Z".repeat(2000);
    let method = reqwest::Method::from_bytes(long.as_bytes()).unwrap();
    let agent = format!("agent-{long}");
    let path = format!("/p{long}");
    for base in [&stack.auth.base_url, &stack.profile.base_url] {
        let reply = crate::support::client::send(
            stack
                .client
                .request(method.clone(), format!("{base}{path}"))
                .header("user-agent", &agent),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 404, "{}", reply.body);
        // A header line without a colon: actix's parser refuses it.
        let head = "GET /healthz HTTP/1.1\r\nHost: x\r\nthis line has no colon\r\n\r\n";
        let answer = raw_exchange(base, head.as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    }
    for service in [&stack.auth, &stack.profile] {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let seen = |lines: &[String]| {
            let request = lines
                .iter()
                .any(|l| l.contains("\"message\":\"request\"") && l.contains("\"status\":404"));
            let broken = lines
                .iter()
                .any(|l| l.contains("\"level\":\"WARN\"") && l.contains("broken request"));
            request && broken
        };
        while !seen(&service.logs()) {
            assert!(
                std::time::Instant::now() < deadline,
                "lines missing: {:?}",
                service.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for line in service.logs() {
            assert!(
                !line.contains("\"level\":\"ERROR\""),
                "a client's mistake at ERROR: {line}"
            );
            assert!(
                !line.contains(&"Z".repeat(300)),
                "a client's value logged whole: {line}"
            );
        }
    }
}
