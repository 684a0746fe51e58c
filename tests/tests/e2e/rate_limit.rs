//! Per-client limits on `/signup`, `/login` and `/refresh`.

use serde_json::Value;
use shared::api::ErrorCode;

use crate::support::client::{PASSWORD, Reply, new_email, send};
use crate::support::stack::TestStack;

#[tokio::test]
async fn the_credential_endpoints_are_rate_limited_per_client() {
    let stack = TestStack::builder()
        .auth_env("RATE_LIMIT_PER_MINUTE", "3")
        .start()
        .await;
    let first = std::time::Instant::now();
    for _ in 0..3 {
        stack
            .signup(&new_email(), PASSWORD)
            .await
            .expect::<Value>(201);
    }
    let limited = stack.signup(&new_email(), PASSWORD).await;
    limited.expect_error(429, ErrorCode::RateLimited);
    let wait: u64 = limited
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // Three a minute, burst three: the next place frees up 20 s after the
    // first request (Retry-After rounds up).
    let earliest = 20u64.saturating_sub(first.elapsed().as_secs() + 1);
    assert!((earliest..=20).contains(&wait), "Retry-After {wait}");
    let login = stack.login(&new_email(), PASSWORD).await;
    let body = login.expect_error(429, ErrorCode::RateLimited);
    assert!(
        body.error_description.is_some(),
        "token endpoint errors carry error_description"
    );
    stack
        .refresh("x")
        .await
        .expect_error(429, ErrorCode::RateLimited);
    // Health is never limited.
    send(stack.client.get(stack.auth_url("/healthz")))
        .await
        .expect::<Value>(200);
}

/// `POST /signup` of a fresh account with `X-Forwarded-For: forwarded`.
async fn signup_forwarded(stack: &TestStack, forwarded: &str) -> Reply {
    let body = serde_json::json!({"email": new_email(), "password": PASSWORD});
    let request = stack.client.post(stack.auth_url("/signup"));
    send(request.header("x-forwarded-for", forwarded).json(&body)).await
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_limited() {
    let stack = TestStack::builder()
        .auth_env("RATE_LIMIT_PER_MINUTE", "2")
        .auth_env("TRUSTED_PROXIES", "127.0.0.1")
        .start()
        .await;
    let via_proxy = "203.0.113.7, 127.0.0.1";
    signup_forwarded(&stack, via_proxy)
        .await
        .expect::<Value>(201);
    signup_forwarded(&stack, via_proxy)
        .await
        .expect::<Value>(201);
    signup_forwarded(&stack, via_proxy)
        .await
        .expect_error(429, ErrorCode::RateLimited);
    signup_forwarded(&stack, "198.51.100.9, 127.0.0.1")
        .await
        .expect::<Value>(201);
}

#[tokio::test]
async fn a_client_cannot_escape_the_limit_by_writing_its_own_forwarded_entries() {
    let stack = TestStack::builder()
        .auth_env("RATE_LIMIT_PER_MINUTE", "2")
        .auth_env("TRUSTED_PROXIES", "127.0.0.1")
        .start()
        .await;
    // What a trusted proxy forwards when the client itself sent
    // "X-Forwarded-For: 10.0.0.N, garbage": the proxy appends the real address.
    for (i, forged) in ["10.0.0.1", "10.0.0.2", "10.0.0.3"].iter().enumerate() {
        let reply = signup_forwarded(&stack, &format!("{forged}, garbage, 203.0.113.9")).await;
        if i < 2 {
            reply.expect::<Value>(201);
        } else {
            reply.expect_error(429, ErrorCode::RateLimited);
        }
    }
}

#[tokio::test]
async fn without_trust_x_forwarded_for_is_ignored() {
    let stack = TestStack::builder()
        .auth_env("RATE_LIMIT_PER_MINUTE", "2")
        .start()
        .await;
    for (i, client) in ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
        .iter()
        .enumerate()
    {
        let reply = signup_forwarded(&stack, client).await;
        if i < 2 {
            reply.expect::<Value>(201);
        } else {
            reply.expect_error(429, ErrorCode::RateLimited);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_database_share_the_limit() {
    let stack = TestStack::builder()
        .auth_env("RATE_LIMIT_PER_MINUTE", "4")
        .start()
        .await;
    let mut replica = stack.start_another("auth-service", &stack.auth.database_url);
    tokio::task::block_in_place(|| replica.wait_listening(std::time::Duration::from_secs(60)));
    let mut allowed = 0;
    let mut limited = 0;
    for i in 0..10 {
        let base = if i % 2 == 0 {
            &stack.auth.base_url
        } else {
            &replica.base_url
        };
        let body = serde_json::json!({"email": new_email(), "password": PASSWORD});
        let reply = send(stack.client.post(format!("{base}/signup")).json(&body)).await;
        match reply.status.as_u16() {
            201 => allowed += 1,
            _ => {
                reply.expect_error(429, ErrorCode::RateLimited);
                limited += 1;
            }
        }
    }
    println!("10 signups alternating over 2 replicas: {allowed} allowed, {limited} limited");
    assert_eq!(
        (allowed, limited),
        (4, 6),
        "RATE_LIMIT_PER_MINUTE in total, not per replica"
    );
}
