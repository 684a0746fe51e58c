//! What is stored of a session: no refresh token in clear, expired
//! sessions swept, and a session's row lock that answers 503 rather than
//! hang, with a broken schema still a 500.

use serde_json::Value;
use sha2::{Digest, Sha256};
use shared::api::{ErrorCode, TokenResponse};

use crate::support::client::PASSWORD;
use crate::support::jwt::claims_of;
use crate::support::stack::TestStack;

#[tokio::test]
async fn no_refresh_token_is_stored_in_clear() {
    let stack = TestStack::start().await;
    let (_, first) = stack.new_session().await;
    let second: TokenResponse = stack.refresh(&first.refresh_token).await.expect(200);
    let mut db = stack.auth.db();
    let stored = crate::support::db::refresh_tokens(&mut db);
    assert_eq!(stored.len(), 2);
    let dump = crate::support::db::dump_text(&mut db);
    for token in [&first.refresh_token, &second.refresh_token] {
        assert!(
            !dump.contains(token.as_str()),
            "a refresh token is stored in clear"
        );
        let hash = Sha256::digest(token.as_bytes()).to_vec();
        assert!(stored.iter().any(|row| row.token_hash == hash));
    }
    assert_eq!(stored.iter().filter(|row| row.used_at.is_some()).count(), 1);
}

#[tokio::test]
async fn sessions_expired_over_a_day_ago_are_deleted_at_the_next_login() {
    let stack = TestStack::start().await;
    let (email, old) = stack.new_session().await;
    let mut db = stack.auth.db();
    crate::support::db::execute(
        &mut db,
        "UPDATE sessions SET expires_at = now() - interval '2 days'",
    );
    stack.login(&email, PASSWORD).await.expect::<Value>(200);
    assert_eq!(
        crate::support::db::count(&mut db, "SELECT count(*) FROM sessions"),
        1
    );
    stack
        .refresh(&old.refresh_token)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_that_cannot_lock_its_session_gives_503_not_a_hang() {
    let stack = TestStack::start().await;
    let (_, tokens) = stack.new_session().await;
    let sid = claims_of(&tokens.refresh_token, &stack.refresh_secret)["sid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut holder = stack.auth.db();
    use diesel::Connection;
    let started = std::time::Instant::now();
    let reply = holder.transaction::<_, diesel::result::Error, _>(|conn| {
        crate::support::db::execute(
            conn,
            &format!("SELECT id FROM sessions WHERE id = '{sid}' FOR UPDATE"),
        );
        let reply = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(stack.refresh(&tokens.refresh_token))
        });
        Ok(reply)
    });
    let reply = reply.unwrap_or_else(|e| panic!("{e}"));
    reply.expect_error(503, ErrorCode::Unavailable);
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    // Once the lock is gone the same token refreshes fine.
    stack
        .refresh(&tokens.refresh_token)
        .await
        .expect::<TokenResponse>(200);
}

#[tokio::test]
async fn only_a_lock_timeout_is_busy_a_broken_schema_is_an_internal_error() {
    let stack = TestStack::start().await;
    let (_, tokens) = stack.new_session().await;
    // The lock statement now fails for a reason that is not contention.
    crate::support::db::execute(
        &mut stack.auth.db(),
        "ALTER TABLE sessions RENAME TO sessions_moved",
    );
    let reply = stack.refresh(&tokens.refresh_token).await;
    let body = reply.expect_error(500, ErrorCode::Internal);
    assert_eq!(body.detail, service_kit::error::INTERNAL_DETAIL);
    assert!(!reply.body.contains("sessions"), "{}", reply.body);
    assert_eq!(reply.header("retry-after"), None);
}
