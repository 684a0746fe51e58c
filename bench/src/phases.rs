//! The figures the benchmark has always printed, now against the real
//! binaries: password logins per second at `BCRYPT_COST`, `/healthz` idle
//! and during logins (bcrypt must not stall the async workers), `GET /me`
//! 16 at a time, a storm of 300 simultaneous logins through the hashing
//! gate, and what the PostgreSQL-backed per-client limit costs. The load
//! comes from this process (reqwest, closed loop).

use std::time::{Duration, Instant};

use uuid::Uuid;

use super::env_number;
use super::latency::{load, load_any, percentiles};

/// The benchmark user's password.
pub const PASSWORD: &str = "correct horse battery staple";
/// The benchmark user's email.
pub const EMAIL: &str = "bench@example.com";

/// The benchmark user, logged in.
pub struct Session {
    pub access_token: String,
    pub user_id: Uuid,
}

/// The auth service's variables for these phases.
pub fn auth_env(cost: &str) -> Vec<(&'static str, String)> {
    vec![
        ("BCRYPT_COST", cost.to_owned()),
        // High enough never to refuse, so the limiter's cost shows.
        ("RATE_LIMIT_PER_MINUTE", "1000000".into()),
        ("LOGIN_FAILURE_LIMIT", "0".into()),
    ]
}

/// Runs the phases against the services at `auth` and `profile`.
pub async fn run(auth: &str, profile: &str) -> Result<Session, String> {
    let logins = env_number("BENCH_LOGINS", 40);
    let me_requests = env_number("BENCH_ME_REQUESTS", 4000);
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    println!("- load for the figures below: this process (reqwest, closed loop, N at a time)\n");
    sign_up(&client, auth).await?;
    let login = || {
        client
            .post(format!("{auth}/login"))
            .form(&[("username", EMAIL), ("password", PASSWORD)])
            .send()
    };

    let (wall, mut latencies) = load(logins, 8, |_| login()).await?;
    println!(
        "- password logins: {logins} in {:.1} s = {:.1} logins/s, 8 at a time; {}",
        wall.as_secs_f64(),
        logins as f64 / wall.as_secs_f64(),
        percentiles(&mut latencies)
    );

    let healthz = |_| client.get(format!("{auth}/healthz")).send();
    let (_, mut idle) = load(500, 1, healthz).await?;
    println!("- /healthz idle, one at a time: {}", percentiles(&mut idle));
    let storm = load_any(logins, 16, |_| login());
    let probe = async {
        let mut samples = Vec::new();
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            let (_, latency) = load(1, 1, healthz).await?;
            samples.extend(latency);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok::<_, String>(samples)
    };
    let (storm, probe) = tokio::join!(storm, probe);
    let (_, replies) = storm?;
    let shed = replies.iter().filter(|(status, _)| *status == 503).count();
    let mut during = probe?;
    println!(
        "- /healthz during a storm of {logins} logins, 16 at a time ({shed} shed by the hashing gate): {} ({} probes)",
        percentiles(&mut during),
        during.len()
    );

    let session = sign_in(&client, auth, profile).await?;
    let me = |_| {
        client
            .get(format!("{profile}/me"))
            .bearer_auth(&session.access_token)
            .send()
    };
    let (wall, mut latencies) = load(me_requests, 16, me).await?;
    println!(
        "- GET /me: {me_requests} in {:.1} s = {:.0} requests/s, 16 at a time; {}",
        wall.as_secs_f64(),
        me_requests as f64 / wall.as_secs_f64(),
        percentiles(&mut latencies)
    );
    login_storm(&client, auth, profile, &session.access_token).await?;
    limiter_cost(&client, auth).await?;
    Ok(session)
}

/// Logs the benchmark's user in (after [`sign_up`]) and reads its
/// profile once: the token and id the `GET /me` runs use.
pub async fn sign_in(
    client: &reqwest::Client,
    auth: &str,
    profile: &str,
) -> Result<Session, String> {
    let json = |response: reqwest::Response| async move {
        let response = response.error_for_status().map_err(|e| e.to_string())?;
        response
            .json::<serde_json::Value>()
            .await
            .map_err(|e| e.to_string())
    };
    let tokens = log_in(client, auth, EMAIL).await?;
    let access_token = tokens["access_token"]
        .as_str()
        .ok_or("the login gave no access token")?
        .to_owned();
    let me = client
        .get(format!("{profile}/me"))
        .bearer_auth(&access_token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let user_id = json(me).await?["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .ok_or("GET /me gave no id")?;
    Ok(Session {
        access_token,
        user_id,
    })
}

/// A password login of `email`: the token response, or why there is none.
pub async fn log_in(
    client: &reqwest::Client,
    auth: &str,
    email: &str,
) -> Result<serde_json::Value, String> {
    client
        .post(format!("{auth}/login"))
        .form(&[("username", email), ("password", PASSWORD)])
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())
}

/// Creates the benchmark's user (a second call gets 409, which is fine).
pub async fn sign_up(client: &reqwest::Client, auth: &str) -> Result<(), String> {
    let signup = serde_json::json!({"email": EMAIL, "password": PASSWORD});
    client
        .post(format!("{auth}/signup"))
        .json(&signup)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// 300 simultaneous password logins against the hashing gate, with
/// `/healthz` and `GET /me` probed throughout.
async fn login_storm(
    client: &reqwest::Client,
    auth: &str,
    profile: &str,
    access: &str,
) -> Result<(), String> {
    const STORM: usize = 300;
    let login = |_| {
        client
            .post(format!("{auth}/login"))
            .form(&[("username", EMAIL), ("password", PASSWORD)])
            .send()
    };
    let storm = load_any(STORM, STORM, login);
    let probe = |url: String, bearer: Option<String>| async move {
        let mut samples = Vec::new();
        let until = Instant::now() + Duration::from_secs(4);
        while Instant::now() < until {
            let request = |_| {
                let request = client.get(&url);
                match &bearer {
                    Some(token) => request.bearer_auth(token).send(),
                    None => request.send(),
                }
            };
            let (_, latency) = load(1, 1, request).await?;
            samples.extend(latency);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok::<_, String>(samples)
    };
    let (storm, health, me) = tokio::join!(
        storm,
        probe(format!("{auth}/healthz"), None),
        probe(format!("{profile}/me"), Some(access.to_owned()))
    );
    let (wall, replies) = storm?;
    let (mut health, mut me) = (health?, me?);
    let mut admitted: Vec<Duration> = replies
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, d)| *d)
        .collect();
    let shed: Vec<Duration> = replies
        .iter()
        .filter(|(s, _)| *s == 503)
        .map(|(_, d)| *d)
        .collect();
    let other = replies.len() - admitted.len() - shed.len();
    // Shed at once (queue full) or after HASH_QUEUE_TIMEOUT_MS of waiting.
    let (mut at_once, mut timed_out): (Vec<Duration>, Vec<Duration>) = shed
        .iter()
        .partition(|latency| **latency < Duration::from_millis(500));
    println!(
        "- storm of {STORM} simultaneous logins: {} admitted ({:.1} logins/s over {:.1} s), {} shed ({:.0}%), {other} other statuses",
        admitted.len(),
        admitted.len() as f64 / wall.as_secs_f64(),
        wall.as_secs_f64(),
        shed.len(),
        100.0 * shed.len() as f64 / STORM as f64,
    );
    println!("  - admitted logins: {}", percentiles(&mut admitted));
    println!(
        "  - shed at once (queue full), {}: {}",
        at_once.len(),
        percentiles(&mut at_once)
    );
    println!(
        "  - shed after waiting HASH_QUEUE_TIMEOUT_MS, {}: {}",
        timed_out.len(),
        percentiles(&mut timed_out)
    );
    println!(
        "  - /healthz during the storm: {} ({} probes)",
        percentiles(&mut health),
        health.len()
    );
    println!(
        "  - GET /me during the storm: {} ({} probes)",
        percentiles(&mut me),
        me.len()
    );
    if other > 0 {
        return Err(format!(
            "{other} storm requests got a status other than 200 or 503"
        ));
    }
    Ok(())
}

/// The per-client limit's cost: `POST /refresh` (limited: one PostgreSQL
/// statement first) against `POST /logout` (not limited) with the same
/// garbage token, which both refuse without touching the database.
async fn limiter_cost(client: &reqwest::Client, auth: &str) -> Result<(), String> {
    const N: usize = 2000;
    let body = serde_json::json!({"refresh_token": "not.a.token"});
    let limited = |_| client.post(format!("{auth}/refresh")).json(&body).send();
    let unlimited = |_| client.post(format!("{auth}/logout")).json(&body).send();
    let (_, limited) = load_any(N, 1, limited).await?;
    let (_, unlimited) = load_any(N, 1, unlimited).await?;
    let mean = |replies: &[(u16, Duration)]| {
        replies.iter().map(|(_, d)| d.as_secs_f64()).sum::<f64>() / replies.len() as f64 * 1000.0
    };
    let (with, without) = (mean(&limited), mean(&unlimited));
    println!(
        "- per-client limit (PostgreSQL GCRA): {with:.3} ms per limited request vs {without:.3} ms unlimited, one at a time: {:.3} ms per request",
        with - without
    );
    Ok(())
}
