//! The hashing gate: a login storm beyond the queue is shed at once with
//! 503 and `Retry-After`, while health stays fast and admitted logins
//! finish; a client that hangs up leaves the queue; and one client's storm
//! does not shed the others.

use std::time::{Duration, Instant};

use futures::future::join_all;
use shared::api::{ErrorCode, HealthResponse, TokenResponse};
use tokio::io::AsyncWriteExt;

use crate::support::client::{PASSWORD, Reply, new_email, send};
use crate::support::stack::TestStack;

/// `series` (name and labels) on the auth service's metrics listener, 0
/// when absent.
async fn metric(stack: &TestStack, series: &str) -> f64 {
    let text = send(stack.client.get(&stack.auth.metrics_url)).await.body;
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.parse().unwrap())
}

pub(crate) const WAITING: &str = r#"auth_hash_gate_waiting{service="auth-service"}"#;
pub(crate) const IN_USE: &str = r#"auth_hash_gate_in_use{service="auth-service"}"#;
const HASHED: &str = r#"auth_password_hash_duration_seconds_count{service="auth-service"}"#;

/// Waits until `series` reads `value`, up to `limit`.
pub(crate) async fn until(stack: &TestStack, series: &str, value: f64, limit: Duration) {
    until_reads(stack, series, |now| now == value, limit).await;
}

/// Waits until what `series` reads passes `test`, up to `limit`.
async fn until_reads(stack: &TestStack, series: &str, test: impl Fn(f64) -> bool, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let now = metric(stack, series).await;
        if test(now) {
            return;
        }
        assert!(Instant::now() < deadline, "{series} is {now}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A password login from `network` (through the trusted proxy 127.0.0.1).
pub(crate) async fn login_from(
    stack: &TestStack,
    network: &str,
    email: &str,
    password: &str,
) -> Reply {
    send(
        stack
            .client
            .post(stack.auth_url("/login"))
            .header("x-forwarded-for", network)
            .form(&[("username", email), ("password", password)]),
    )
    .await
}

/// A login from `network` sent on a connection of its own, left open:
/// dropping it is the client hanging up.
async fn login_on_own_connection(stack: &TestStack, network: &str) -> tokio::net::TcpStream {
    let body = format!("username={}&password=some+password", new_email());
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: auth\r\nX-Forwarded-For: {network}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let addr = stack.auth.base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    stream
}

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
    // One client network holds at most a quarter of the waiting places
    // (here 1 of 2): the running login and its one queued login finish.
    assert!(
        checked >= 2,
        "the running and queued logins finish: {checked}"
    );
    assert!(shed >= 10, "the rest is shed: {shed}");
    assert_eq!(checked + shed, 20);
}

#[tokio::test]
async fn a_client_that_hangs_up_leaves_the_queue_and_its_login_never_hashes() {
    let stack = TestStack::builder()
        .auth_env("BCRYPT_COST", "15")
        .auth_env("HASH_CONCURRENCY", "1")
        .auth_env("HASH_QUEUE_MAX", "2")
        .auth_env("HASH_QUEUE_TIMEOUT_MS", "120000")
        .auth_env("TRUSTED_PROXIES", "127.0.0.1")
        .start()
        .await;
    let long = Duration::from_secs(60);
    // The first login hashes (an unknown email: the dummy hash, same cost).
    let first = tokio::spawn({
        let client = stack.client.clone();
        let url = stack.auth_url("/login");
        let email = new_email();
        async move {
            client
                .post(url)
                .header("x-forwarded-for", "198.51.100.1")
                .form(&[("username", email.as_str()), ("password", "some password")])
                .send()
                .await
                .map(|reply| reply.status().as_u16())
        }
    });
    until(&stack, IN_USE, 1.0, long).await;
    // Two more wait, from two other networks, then their clients go away.
    let waiting = [
        login_on_own_connection(&stack, "198.51.100.2").await,
        login_on_own_connection(&stack, "198.51.100.3").await,
    ];
    until(&stack, WAITING, 2.0, long).await;
    assert_eq!(
        metric(&stack, HASHED).await,
        0.0,
        "the first is still hashing"
    );
    drop(waiting);
    until(&stack, WAITING, 0.0, Duration::from_secs(10)).await;
    // They left the queue; they were not served from it.
    assert_eq!(metric(&stack, IN_USE).await, 1.0);
    assert_eq!(
        metric(&stack, HASHED).await,
        0.0,
        "the first is still hashing"
    );
    // A new login is let in (the queue was full before), and by the time
    // it is answered only the first and it have hashed.
    let next = login_from(&stack, "198.51.100.4", &new_email(), "some password").await;
    next.expect_error(400, ErrorCode::InvalidGrant);
    assert_eq!(first.await.unwrap().unwrap(), 400);
    assert_eq!(
        metric(&stack, HASHED).await,
        2.0,
        "the abandoned logins hashed"
    );
    let sum = r#"auth_password_hash_duration_seconds_sum{service="auth-service"}"#;
    println!(
        "two hashes at cost 15 took {:.1} s",
        metric(&stack, sum).await
    );
}

#[tokio::test]
async fn one_client_storming_logins_does_not_shed_the_others() {
    let stack = TestStack::builder()
        .auth_env("BCRYPT_COST", "10")
        .auth_env("HASH_CONCURRENCY", "1")
        .auth_env("HASH_QUEUE_MAX", "8")
        .auth_env("HASH_QUEUE_TIMEOUT_MS", "120000")
        .auth_env("TRUSTED_PROXIES", "127.0.0.1")
        .auth_env("LOGIN_FAILURE_LIMIT", "0")
        .auth_env("LOGIN_FAILURE_ACCOUNT_LIMIT", "0")
        .start()
        .await;
    // Six people with accounts, each on a network of their own.
    let people: Vec<(String, String)> = (1..=6)
        .map(|n| (format!("203.0.113.{n}"), new_email()))
        .collect();
    for (network, email) in &people {
        let reply = send(
            stack
                .client
                .post(stack.auth_url("/signup"))
                .header("x-forwarded-for", network)
                .json(&serde_json::json!({"email": email, "password": PASSWORD})),
        )
        .await;
        reply.expect::<serde_json::Value>(201);
    }
    // One network storms: sixteen clients log in again as soon as they
    // are answered, shed or not, until the others are done.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let storm: Vec<_> = (0..16)
        .map(|_| {
            let (client, url, stop) =
                (stack.client.clone(), stack.auth_url("/login"), stop.clone());
            tokio::spawn(async move {
                let (mut sent, mut shed) = (0, 0);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let email = new_email();
                    let reply = client
                        .post(&url)
                        .header("x-forwarded-for", "198.51.100.66")
                        .form(&[("username", email.as_str()), ("password", "wrong")])
                        .send()
                        .await;
                    sent += 1;
                    shed += usize::from(reply.is_ok_and(|r| r.status() == 503));
                }
                (sent, shed)
            })
        })
        .collect();
    // The storm holds (at least) its share of the queue.
    until_reads(
        &stack,
        WAITING,
        |waiting| waiting >= 2.0,
        Duration::from_secs(60),
    )
    .await;
    let logins = people
        .iter()
        .map(|(network, email)| login_from(&stack, network, email, PASSWORD));
    let replies = join_all(logins).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut sent, mut shed) = (0, 0);
    for task in storm {
        let (s, x) = task.await.unwrap();
        (sent, shed) = (sent + s, shed + x);
    }
    println!(
        "storm: {sent} logins, {shed} shed; the six others: {:?}",
        replies
            .iter()
            .map(|r| r.status.as_u16())
            .collect::<Vec<_>>()
    );
    assert!(shed > 0, "the storm was past its share");
    for reply in replies {
        reply.expect::<TokenResponse>(200);
    }
}
