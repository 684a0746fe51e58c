//! Sessions: refresh-token rotation with reuse detection, by both grant
//! forms, and logout. Refused refreshes are `refresh_errors.rs`'s, what is
//! stored `session_storage.rs`'s.

use futures::future::join_all;
use serde_json::json;
use shared::api::{ErrorCode, ProfileResponse, TokenResponse};

use crate::support::client::{PASSWORD, Reply, send};
use crate::support::jwt::claims_of;
use crate::support::stack::TestStack;

/// The two ways to refresh: the OAuth 2.0 grant and the JSON endpoint.
#[derive(Clone, Copy, Debug)]
enum Form {
    Grant,
    Json,
}

async fn refresh(stack: &TestStack, form: Form, token: &str) -> Reply {
    match form {
        Form::Grant => stack.refresh_grant(token).await,
        Form::Json => stack.refresh(token).await,
    }
}

#[tokio::test]
async fn refresh_rotates_the_pair_in_the_same_session_by_both_forms() {
    let stack = TestStack::start().await;
    let (email, first) = stack.new_session().await;
    let mut current = first.clone();
    for form in [Form::Grant, Form::Json] {
        let reply = refresh(&stack, form, &current.refresh_token).await;
        let next: TokenResponse = reply.expect(200);
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{form:?}");
        assert_ne!(next.refresh_token, current.refresh_token);
        assert_ne!(next.access_token, current.access_token);
        let old = claims_of(&current.refresh_token, &stack.refresh_secret);
        let new = claims_of(&next.refresh_token, &stack.refresh_secret);
        assert_eq!(old["sid"], new["sid"], "{form:?}: same session");
        let access = claims_of(&next.access_token, &stack.access_secret);
        assert_eq!(
            (access["sid"].clone(), access["email"].clone()),
            (new["sid"].clone(), json!(email))
        );
        current = next;
    }
    // The first access token keeps working until it expires.
    stack
        .me(&first.access_token)
        .await
        .expect::<ProfileResponse>(200);
    stack
        .me(&current.access_token)
        .await
        .expect::<ProfileResponse>(200);
}

#[tokio::test]
async fn reuse_after_the_grace_window_revokes_the_whole_session() {
    let stack = TestStack::builder()
        .auth_env("REFRESH_REUSE_GRACE_SECONDS", "0")
        .start()
        .await;
    for form in [Form::Grant, Form::Json] {
        let (email, first) = stack.new_session().await;
        let other_session: TokenResponse = stack.login(&email, PASSWORD).await.expect(200);
        let second: TokenResponse = refresh(&stack, form, &first.refresh_token)
            .await
            .expect(200);
        // With no grace window any reuse is theft, however soon it comes.
        let reused = refresh(&stack, form, &first.refresh_token).await;
        let body = reused.expect_error(400, ErrorCode::InvalidGrant);
        assert_eq!(
            body.error_description.as_deref(),
            Some(body.detail.as_str())
        );
        // The thief's token and the victim's newest token are both dead.
        refresh(&stack, form, &second.refresh_token)
            .await
            .expect_error(400, ErrorCode::InvalidGrant);
        // The user's other session is untouched.
        refresh(&stack, form, &other_session.refresh_token)
            .await
            .expect::<TokenResponse>(200);
    }
}

#[tokio::test]
async fn a_replay_within_the_grace_window_gets_the_successor_already_issued() {
    let stack = TestStack::builder()
        .auth_env("REFRESH_REUSE_GRACE_SECONDS", "30")
        .start()
        .await;
    let (_, first) = stack.new_session().await;
    // Two tabs refresh with the same token at once.
    let tab_a: TokenResponse = stack.refresh(&first.refresh_token).await.expect(200);
    let tab_b: TokenResponse = stack.refresh_grant(&first.refresh_token).await.expect(200);
    assert_eq!(
        tab_a.refresh_token, tab_b.refresh_token,
        "one chain, not two"
    );
    stack
        .me(&tab_b.access_token)
        .await
        .expect::<ProfileResponse>(200);
    // The chain goes on from there, and the session stays single-chained.
    let next: TokenResponse = stack.refresh(&tab_a.refresh_token).await.expect(200);
    let again: TokenResponse = stack.refresh(&tab_b.refresh_token).await.expect(200);
    assert_eq!(next.refresh_token, again.refresh_token);
    let mut db = stack.auth.db();
    let unused = crate::support::db::count(
        &mut db,
        "SELECT count(*) FROM refresh_tokens WHERE used_at IS NULL",
    );
    assert_eq!(unused, 1);
    // Once the successor has been used in turn, replaying the first token
    // is reuse, even inside the window: the session is revoked.
    stack
        .refresh(&first.refresh_token)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    stack
        .refresh(&next.refresh_token)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn ten_concurrent_refreshes_of_one_token_give_no_5xx_and_one_live_session() {
    let stack = TestStack::start().await;
    let (_, first) = stack.new_session().await;
    let replies = join_all((0..10).map(|_| stack.refresh(&first.refresh_token))).await;
    for reply in &replies {
        assert!(
            reply.status.as_u16() < 500,
            "{} {}",
            reply.status,
            reply.body
        );
    }
    let mut db = stack.auth.db();
    let live = crate::support::db::count(
        &mut db,
        "SELECT count(*) FROM sessions WHERE revoked_at IS NULL",
    );
    assert_eq!(live, 1);
    let unused = crate::support::db::count(
        &mut db,
        "SELECT count(*) FROM refresh_tokens WHERE used_at IS NULL",
    );
    assert_eq!(unused, 1, "the session has exactly one live refresh token");
    let winners: Vec<TokenResponse> = replies
        .iter()
        .filter(|r| r.status.as_u16() == 200)
        .map(Reply::json)
        .collect();
    assert_eq!(
        winners.len(),
        10,
        "all ten fall in the default grace window"
    );
    for tokens in &winners {
        assert_eq!(tokens.refresh_token, winners[0].refresh_token);
        stack
            .me(&tokens.access_token)
            .await
            .expect::<ProfileResponse>(200);
    }
}

#[tokio::test]
async fn logout_ends_the_session_and_is_idempotent() {
    let stack = TestStack::start().await;
    let (_, tokens) = stack.new_session().await;
    let reply = stack.logout(&tokens.refresh_token).await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    stack
        .refresh(&tokens.refresh_token)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    stack
        .refresh_grant(&tokens.refresh_token)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    // Again, unknown, garbage: still 204, no oracle.
    for token in [
        tokens.refresh_token.as_str(),
        "garbage",
        &tokens.access_token,
    ] {
        assert_eq!(stack.logout(token).await.status.as_u16(), 204, "{token}");
    }
    // A malformed body is still 400.
    let broken = send(stack.raw(
        reqwest::Method::POST,
        stack.auth_url("/logout"),
        Some("application/json"),
        "{\"token\": 1}",
    ))
    .await;
    broken.expect_error(400, ErrorCode::InvalidRequest);
}
