//! A user's own sessions and account at the auth service: `GET /sessions`,
//! `DELETE /sessions/{id}`, `POST /logout` scopes and `DELETE /account`,
//! with what is stored afterwards. What the profile service makes of the
//! same actions is `revocation.rs`'s.

use serde_json::{Value, json};
use shared::api::{ErrorCode, SessionInfo, TokenResponse};

use crate::support::client::{PASSWORD, Reply, new_email, send};
use crate::support::db;
use crate::support::stack::TestStack;

async fn sessions(stack: &TestStack, token: &str) -> Reply {
    send(
        stack
            .client
            .get(stack.auth_url("/sessions"))
            .bearer_auth(token),
    )
    .await
}

async fn delete_session(stack: &TestStack, token: &str, id: &str) -> Reply {
    send(
        stack
            .client
            .delete(stack.auth_url(&format!("/sessions/{id}")))
            .bearer_auth(token),
    )
    .await
}

async fn logout(stack: &TestStack, refresh_token: &str, scope: Value) -> Reply {
    let body = json!({"refresh_token": refresh_token, "scope": scope});
    send(stack.client.post(stack.auth_url("/logout")).json(&body)).await
}

async fn delete_account(stack: &TestStack, token: &str, password: &str) -> Reply {
    send(
        stack
            .client
            .delete(stack.auth_url("/account"))
            .bearer_auth(token)
            .json(&json!({"password": password})),
    )
    .await
}

/// Logs `email` in `n` times, each with its own User-Agent.
async fn log_in_times(stack: &TestStack, email: &str, n: usize) -> Vec<TokenResponse> {
    let mut logins = Vec::new();
    for i in 0..n {
        let reply = send(
            stack
                .client
                .post(stack.auth_url("/login"))
                .header("user-agent", format!("device-\t{i}"))
                .form(&[("username", email), ("password", PASSWORD)]),
        )
        .await;
        logins.push(reply.expect(200));
    }
    logins
}

fn sid(token: &TokenResponse) -> String {
    crate::support::jwt::unverified_claims(&token.access_token)["sid"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn sessions_are_listed_newest_first_with_where_they_were_used() {
    let stack = TestStack::start().await;
    let email = new_email();
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    let logins = log_in_times(&stack, &email, 3).await;
    let reply = sessions(&stack, &logins[1].access_token).await;
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let listed: Vec<SessionInfo> = reply.expect(200);
    let ids: Vec<String> = listed.iter().map(|s| s.id.to_string()).collect();
    let expected: Vec<String> = logins.iter().rev().map(sid).collect();
    assert_eq!(ids, expected, "newest first");
    let current: Vec<bool> = listed.iter().map(|s| s.current).collect();
    assert_eq!(current, [false, true, false]);
    assert_eq!(
        listed[2].user_agent.as_deref(),
        Some("device-0"),
        "control character (a tab) dropped"
    );
    assert!(listed.iter().all(|s| s.ip.as_deref() == Some("127.0.0.1")));
    assert!(listed.iter().all(|s| s.last_used_at >= s.created_at));
    // A refresh moves last_used_at and takes the new User-Agent.
    let before = listed[2].last_used_at;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let body = json!({"refresh_token": logins[0].refresh_token});
    let refreshed: TokenResponse = send(
        stack
            .client
            .post(stack.auth_url("/refresh"))
            .header("user-agent", "renamed")
            .json(&body),
    )
    .await
    .expect(200);
    let listed: Vec<SessionInfo> = sessions(&stack, &refreshed.access_token).await.expect(200);
    let first = listed
        .iter()
        .find(|s| s.current)
        .unwrap_or_else(|| panic!("{listed:?}"));
    assert!(first.last_used_at > before);
    assert_eq!(first.user_agent.as_deref(), Some("renamed"));
    // Another account sees only its own.
    let (_, other) = stack.new_session().await;
    let theirs: Vec<SessionInfo> = sessions(&stack, &other.access_token).await.expect(200);
    assert_eq!(theirs.len(), 1);
}

#[tokio::test]
async fn deleting_a_session_ends_exactly_that_one() {
    let stack = TestStack::start().await;
    let email = new_email();
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    let logins = log_in_times(&stack, &email, 2).await;
    let (mine, other) = (&logins[0], &logins[1]);
    delete_session(&stack, &mine.access_token, &sid(other))
        .await
        .expect_status(204);
    stack
        .refresh(&other.refresh_token)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    // The ended session's access token no longer works at a Bearer route.
    sessions(&stack, &other.access_token)
        .await
        .expect_error(401, ErrorCode::InvalidToken);
    let listed: Vec<SessionInfo> = sessions(&stack, &mine.access_token).await.expect(200);
    assert_eq!(listed.len(), 1);
    stack
        .refresh(&mine.refresh_token)
        .await
        .expect::<Value>(200);
    // Twice, unknown, not an id, another account's: 404, nothing changes.
    let (_, stranger) = stack.new_session().await;
    for id in [
        sid(other),
        uuid::Uuid::new_v4().to_string(),
        "not-a-uuid".into(),
        sid(&stranger),
    ] {
        let current = stack
            .login(&email, PASSWORD)
            .await
            .expect::<TokenResponse>(200);
        delete_session(&stack, &current.access_token, &id)
            .await
            .expect_error(404, ErrorCode::NotFound);
    }
    stack
        .refresh(&stranger.refresh_token)
        .await
        .expect::<Value>(200);
    // Without a token: 401.
    send(
        stack
            .client
            .delete(stack.auth_url(&format!("/sessions/{}", sid(mine)))),
    )
    .await
    .expect_error(401, ErrorCode::InvalidToken);
}

#[tokio::test]
async fn logout_scopes_end_this_the_others_or_all_sessions() {
    let stack = TestStack::start().await;
    let email = new_email();
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    let logins = log_in_times(&stack, &email, 3).await;
    let body: Value = logout(&stack, &logins[0].refresh_token, json!("everywhere"))
        .await
        .expect(422);
    assert_eq!(body["error"], "validation_error");
    assert!(body["fields"]["scope"].is_string(), "{body}");
    logout(&stack, &logins[0].refresh_token, json!("others"))
        .await
        .expect_status(204);
    for gone in &logins[1..] {
        stack
            .refresh(&gone.refresh_token)
            .await
            .expect_error(400, ErrorCode::InvalidGrant);
    }
    let kept: TokenResponse = stack.refresh(&logins[0].refresh_token).await.expect(200);
    // A revoked session's token cannot end the others.
    let more = log_in_times(&stack, &email, 1).await;
    logout(&stack, &logins[1].refresh_token, json!("global"))
        .await
        .expect_status(204);
    stack
        .refresh(&more[0].refresh_token)
        .await
        .expect::<Value>(200);
    // global: all of them, the caller's too.
    logout(&stack, &kept.refresh_token, json!("global"))
        .await
        .expect_status(204);
    let mut conn = stack.auth.db();
    let live = db::count(
        &mut conn,
        "SELECT count(*) FROM sessions WHERE revoked_at IS NULL",
    );
    assert_eq!(live, 0);
    // local is the default and the old body still works.
    let again = log_in_times(&stack, &email, 1).await;
    stack
        .logout(&again[0].refresh_token)
        .await
        .expect_status(204);
    stack
        .refresh(&again[0].refresh_token)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn deleting_the_account_needs_the_password_and_leaves_nothing_behind() {
    let stack = TestStack::start().await;
    let (email, tokens) = stack.new_session().await;
    log_in_times(&stack, &email, 2).await;
    delete_account(&stack, &tokens.access_token, "not the password")
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    let body: Value = send(
        stack
            .client
            .delete(stack.auth_url("/account"))
            .bearer_auth(&tokens.access_token)
            .json(&json!({})),
    )
    .await
    .expect(400);
    assert_eq!(body["error"], "invalid_request");
    let user = crate::support::jwt::unverified_claims(&tokens.access_token)["sub"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    delete_account(&stack, &tokens.access_token, PASSWORD)
        .await
        .expect_status(204);
    let mut conn = stack.auth.db();
    for table in [
        "users WHERE id",
        "sessions WHERE user_id",
        "known_networks WHERE user_id",
        "one_time_tokens WHERE user_id",
    ] {
        let sql = format!("SELECT count(*) FROM {table} = '{user}'");
        assert_eq!(db::count(&mut conn, &sql), 0, "{table}");
    }
    assert_eq!(
        db::count(&mut conn, "SELECT count(*) FROM refresh_tokens"),
        0
    );
    stack
        .refresh(&tokens.refresh_token)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    stack
        .login(&email, PASSWORD)
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    // The token of the deleted account: 401 at a Bearer route.
    delete_account(&stack, &tokens.access_token, PASSWORD)
        .await
        .expect_error(401, ErrorCode::InvalidToken);
    // The address is free for a new, unrelated account.
    let created: Value = stack.signup(&email, PASSWORD).await.expect(201);
    assert_ne!(created["id"].as_str(), Some(user.as_str()));
}
