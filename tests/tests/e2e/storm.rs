//! A login past a full hashing gate is answered 503 before any database
//! statement, and the per-client limit does not count it (it checked no
//! password); what the gate lets through, and every other token request,
//! is still counted.

use std::time::Duration;

use shared::api::ErrorCode;

use crate::gate::{IN_USE, WAITING, login_from, until};
use crate::support::client::{Reply, new_email, send};
use crate::support::db::{count, execute};
use crate::support::stack::TestStack;

const SHED_DETAIL: &str = "Too many passwords are being checked right now; try again shortly.";

/// A password login from `network` on a task of its own.
fn login_in_background(stack: &TestStack, network: &'static str) -> tokio::task::JoinHandle<()> {
    let (client, url, email) = (stack.client.clone(), stack.auth_url("/login"), new_email());
    tokio::spawn(async move {
        let _ = client
            .post(url)
            .header("x-forwarded-for", network)
            .form(&[("username", email.as_str()), ("password", "some password")])
            .send()
            .await;
    })
}

/// The refresh-token grant at `/login` from `network`.
async fn refresh_grant_from(stack: &TestStack, network: &str) -> Reply {
    send(
        stack
            .client
            .post(stack.auth_url("/login"))
            .header("x-forwarded-for", network)
            .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")]),
    )
    .await
}

fn counted(db: &mut diesel::PgConnection, network: &str) -> i64 {
    count(
        db,
        &format!("SELECT count(*) FROM rate_limits WHERE client = '{network}'"),
    )
}

#[tokio::test]
async fn a_login_past_a_full_gate_runs_no_database_statement_and_is_not_counted() {
    let stack = TestStack::builder()
        .auth_env("BCRYPT_COST", "14")
        .auth_env("HASH_CONCURRENCY", "1")
        .auth_env("HASH_QUEUE_MAX", "1")
        .auth_env("HASH_QUEUE_TIMEOUT_MS", "120000")
        .auth_env("TRUSTED_PROXIES", "127.0.0.1")
        .auth_env("RATE_LIMIT_PER_MINUTE", "30")
        .start()
        .await;
    let long = Duration::from_secs(60);
    // One login hashes, one waits: the gate is full for every network.
    let hashing = login_in_background(&stack, "198.51.100.1");
    until(&stack, IN_USE, 1.0, long).await;
    let waiting = login_in_background(&stack, "198.51.100.2");
    until(&stack, WAITING, 1.0, long).await;

    // Any statement on the limiter's table or on the users would now wait
    // for this lock (and end in a 503 that names the database).
    let mut db = stack.auth.db();
    execute(&mut db, "BEGIN");
    execute(
        &mut db,
        "LOCK TABLE rate_limits, users IN ACCESS EXCLUSIVE MODE",
    );
    let shed = login_from(&stack, "198.51.100.3", &new_email(), "some password").await;
    execute(&mut db, "ROLLBACK");
    let body = shed.expect_error(503, ErrorCode::Unavailable);
    assert_eq!(body.detail, SHED_DETAIL);
    assert_eq!(shed.header("retry-after"), Some("1"));
    assert_eq!(
        counted(&mut db, "198.51.100.3"),
        0,
        "a shed login is not counted"
    );

    // A refresh grant needs no hash: the gate does not shed it, and the
    // limit counts it before its first statement.
    refresh_grant_from(&stack, "198.51.100.4")
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    assert_eq!(counted(&mut db, "198.51.100.4"), 1);
    // The logins the gate took in were counted as they came.
    assert_eq!(counted(&mut db, "198.51.100.1"), 1);
    assert_eq!(counted(&mut db, "198.51.100.2"), 1);
    hashing.abort();
    waiting.abort();
}
