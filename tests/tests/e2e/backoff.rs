//! Login back-off under attack: per email *and client network*, counted
//! before bcrypt runs, with an account-wide ceiling for networks that
//! never logged in to the account. Clients come from real loopback
//! addresses (127.0.0.2, 127.0.1.7, ...), not from headers.

use std::net::{IpAddr, Ipv4Addr};

use futures::future::join_all;
use serde_json::Value;
use shared::api::{ErrorCode, TokenResponse};

use crate::support::client::{PASSWORD, Reply, new_email, send};
use crate::support::stack::TestStack;

/// A client whose connections come from `ip`.
fn client_from(ip: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(IpAddr::V4(ip))
        .build()
        .unwrap()
}

async fn login_from(
    stack: &TestStack,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> Reply {
    let form = [("username", email), ("password", password)];
    send(client.post(stack.auth_url("/login")).form(&form)).await
}

/// How many replies had each status: (400 invalid_grant = password
/// checks, 429 rate_limited, anything else).
fn tally(replies: &[Reply]) -> (usize, usize, Vec<String>) {
    let mut checked = 0;
    let mut refused = 0;
    let mut other = Vec::new();
    for reply in replies {
        match reply.status.as_u16() {
            400 => {
                reply.expect_error(400, ErrorCode::InvalidGrant);
                checked += 1;
            }
            429 => {
                reply.expect_error(429, ErrorCode::RateLimited);
                assert!(reply.header("retry-after").is_some());
                refused += 1;
            }
            _ => other.push(format!("{} {}", reply.status, reply.body)),
        }
    }
    (checked, refused, other)
}

#[tokio::test]
async fn strangers_failures_never_lock_a_user_out_of_their_own_network() {
    let stack = TestStack::start().await;
    let email = new_email();
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    let attacker = client_from(Ipv4Addr::new(127, 0, 0, 2));
    let user = client_from(Ipv4Addr::new(127, 0, 0, 3));
    let mut replies = Vec::new();
    for _ in 0..25 {
        replies.push(login_from(&stack, &attacker, &email, "not the password").await);
    }
    let (checked, refused, other) = tally(&replies);
    println!("25 guesses from 127.0.0.2: {checked} password checks, {refused} × 429");
    assert_eq!((checked, refused, other.len()), (10, 15, 0), "{other:?}");
    // The attacker's network waits; the user's own does not.
    login_from(&stack, &attacker, &email, PASSWORD)
        .await
        .expect_error(429, ErrorCode::RateLimited);
    login_from(&stack, &user, &email, PASSWORD)
        .await
        .expect::<TokenResponse>(200);
}

#[tokio::test]
async fn thirty_simultaneous_guesses_from_one_network_get_at_most_the_limit_of_checks() {
    // A hashing queue with room for the whole burst: past it, the gate
    // would shed guesses with 503 before the back-off sees them.
    let stack = TestStack::builder()
        .auth_env("LOGIN_FAILURE_LIMIT", "10")
        .auth_env("BCRYPT_COST", "8")
        .auth_env("HASH_QUEUE_MAX", "128")
        .start()
        .await;
    let email = new_email();
    let nobody = new_email();
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    let attacker = client_from(Ipv4Addr::new(127, 0, 0, 2));
    for target in [&email, &nobody] {
        let guesses = (0..30).map(|_| login_from(&stack, &attacker, target, "wrong password"));
        let (checked, refused, other) = tally(&join_all(guesses).await);
        println!("30 simultaneous guesses: {checked} password checks, {refused} × 429");
        assert_eq!((checked, refused), (10, 20), "{other:?}");
        assert!(other.is_empty(), "{other:?}");
    }
}

#[tokio::test]
async fn a_hundred_networks_meet_the_account_ceiling_but_not_the_users_own() {
    let stack = TestStack::builder()
        .auth_env("LOGIN_FAILURE_ACCOUNT_LIMIT", "20")
        .auth_env("HASH_QUEUE_MAX", "128")
        .start()
        .await;
    let email = new_email();
    let nobody = new_email();
    stack.signup(&email, PASSWORD).await.expect::<Value>(201);
    let home = client_from(Ipv4Addr::new(127, 0, 0, 5));
    login_from(&stack, &home, &email, PASSWORD)
        .await
        .expect::<TokenResponse>(200);
    let botnet: Vec<reqwest::Client> = (1..=100)
        .map(|host| client_from(Ipv4Addr::new(127, 0, 1, host)))
        .collect();
    for target in [&email, &nobody] {
        let guesses = botnet
            .iter()
            .map(|client| login_from(&stack, client, target, "wrong password"));
        let (checked, refused, other) = tally(&join_all(guesses).await);
        println!("100 guesses from 100 networks: {checked} password checks, {refused} × 429");
        assert_eq!((checked, refused), (20, 80), "{other:?}");
        assert!(other.is_empty(), "{other:?}");
    }
    // A network that never logged in to the account now waits ...
    let stranger = client_from(Ipv4Addr::new(127, 0, 2, 1));
    let refused = login_from(&stack, &stranger, &email, PASSWORD).await;
    refused.expect_error(429, ErrorCode::RateLimited);
    // ... the same way for an email without an account ...
    let unknown = login_from(&stack, &stranger, &nobody, PASSWORD).await;
    assert_eq!(
        unknown.expect_error(429, ErrorCode::RateLimited),
        refused.expect_error(429, ErrorCode::RateLimited)
    );
    // ... but the user's own network logs in.
    login_from(&stack, &home, &email, PASSWORD)
        .await
        .expect::<TokenResponse>(200);
}

#[tokio::test]
async fn the_network_a_user_signed_up_from_is_exempt_from_the_account_ceiling() {
    let stack = TestStack::builder()
        .auth_env("LOGIN_FAILURE_ACCOUNT_LIMIT", "3")
        .start()
        .await;
    let email = new_email();
    let home = client_from(Ipv4Addr::new(127, 0, 0, 9));
    let body = serde_json::json!({"email": email, "password": PASSWORD});
    send(home.post(stack.auth_url("/signup")).json(&body))
        .await
        .expect::<Value>(201);
    for host in 1..=5 {
        let stranger = client_from(Ipv4Addr::new(127, 0, 3, host));
        login_from(&stack, &stranger, &email, "wrong password").await;
    }
    let stranger = client_from(Ipv4Addr::new(127, 0, 3, 9));
    login_from(&stack, &stranger, &email, PASSWORD)
        .await
        .expect_error(429, ErrorCode::RateLimited);
    // Never logged in from home yet, but signed up from there.
    login_from(&stack, &home, &email, PASSWORD)
        .await
        .expect::<TokenResponse>(200);
}
