//! The hashing gate: a login storm beyond the queue is shed at once with
//! 503 and `Retry-After`, while health stays fast and admitted logins
//! finish.

use futures::future::join_all;
use shared::api::{ErrorCode, HealthResponse};

use crate::support::client::{new_email, send};
use crate::support::stack::TestStack;

#[tokio::test]
async fn a_login_storm_past_the_queue_is_shed_with_503_and_nothing_else_fails() {
    let stack = TestStack::builder()
        .auth_env("BCRYPT_COST", "12")
        .auth_env("HASH_CONCURRENCY", "1")
        .auth_env("HASH_QUEUE_MAX", "2")
        .auth_env("HASH_QUEUE_TIMEOUT_MS", "60000")
        .start()
        .await;
    // Unknown emails: their dummy verification goes through the same gate.
    let emails: Vec<String> = (0..20).map(|_| new_email()).collect();
    let storm = emails
        .iter()
        .map(|email| stack.login(email, "some password"));
    let health = send(stack.client.get(stack.auth_url("/healthz")));
    let (replies, health) = tokio::join!(join_all(storm), health);
    health.expect::<HealthResponse>(200);
    let mut checked = 0;
    let mut shed = 0;
    for reply in &replies {
        match reply.status.as_u16() {
            400 => {
                reply.expect_error(400, ErrorCode::InvalidGrant);
                checked += 1;
            }
            503 => {
                reply.expect_error(503, ErrorCode::Unavailable);
                assert_eq!(reply.header("retry-after"), Some("1"));
                shed += 1;
            }
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    println!("20 simultaneous logins, 1 slot + 2 waiting: {checked} checked, {shed} shed");
    assert!(
        checked >= 3,
        "the running and queued logins finish: {checked}"
    );
    assert!(shed >= 10, "the rest is shed: {shed}");
    assert_eq!(checked + shed, 20);
}
