//! Driving the four measured operations over loopback HTTP, a fixed
//! number of requests each, a fixed number at a time, and what came of
//! it: requests per second and latency quantiles.

use std::future::Future;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream;

use crate::latency::{Timed, send_timed};

/// The password every loaded and signed-up account has.
pub const PASSWORD: &str = "correct horse battery staple";

/// Where to send requests, and how many at a time.
pub struct Target {
    pub client: reqwest::Client,
    pub auth: String,
    pub profile: String,
    pub concurrency: usize,
}

/// What one operation's requests measured.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub wall: Duration,
    pub latencies: Vec<Duration>,
}

impl Figures {
    pub fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64().max(f64::EPSILON)
    }

    /// The `q` quantile of the latencies, in milliseconds.
    pub fn ms(&self, q: f64) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
        sorted.get(index).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }

    /// `1,234 req/s, p50 1.2 ms, p99 9.9 ms`.
    pub fn summary(&self) -> String {
        format!(
            "{} req/s, p50 {:.1} ms, p99 {:.1} ms",
            thousands(self.rate().round() as u64),
            self.ms(0.50),
            self.ms(0.99)
        )
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Sends `count` requests made by `make`, `concurrency` at a time; any
/// status other than `expect` fails the run with that answer's body.
pub async fn drive<F, Fut>(
    count: usize,
    concurrency: usize,
    expect: u16,
    make: F,
) -> Result<Figures, String>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = reqwest::Result<reqwest::Response>>,
{
    let started = Instant::now();
    let replies: Vec<Result<Duration, String>> = stream::iter(0..count)
        .map(|i| {
            let request = make(i);
            async move {
                let Timed {
                    status,
                    body,
                    latency,
                } = send_timed(request).await?;
                if status != expect {
                    return Err(format!(
                        "status {status} (expected {expect}): {}",
                        String::from_utf8_lossy(&body)
                    ));
                }
                Ok(latency)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let wall = started.elapsed();
    Ok(Figures {
        wall,
        latencies: replies.into_iter().collect::<Result<_, _>>()?,
    })
}

/// The requests of one round: who signs up, logs in, refreshes, reads
/// their profile.
pub struct Workload {
    pub signups: Vec<String>,
    pub logins: Vec<String>,
    pub refresh_tokens: Vec<String>,
    pub access_tokens: Vec<String>,
    pub me_requests: usize,
}

/// The four operations' figures at one size.
#[derive(Debug, Clone, Default)]
pub struct Round {
    pub signup: Figures,
    pub login: Figures,
    pub refresh: Figures,
    pub me: Figures,
}

impl Target {
    pub async fn logins(&self, emails: &[String]) -> Result<Figures, String> {
        drive(emails.len(), self.concurrency, 200, |i| {
            let email = emails.get(i).map_or("", String::as_str);
            self.client
                .post(format!("{}/login", self.auth))
                .form(&[("username", email), ("password", PASSWORD)])
                .send()
        })
        .await
        .map_err(|e| format!("login: {e}"))
    }

    pub async fn round(&self, work: &Workload) -> Result<Round, String> {
        let signup = drive(work.signups.len(), self.concurrency, 201, |i| {
            let email = work.signups.get(i).map_or("", String::as_str);
            self.client
                .post(format!("{}/signup", self.auth))
                .json(&serde_json::json!({"email": email, "password": PASSWORD}))
                .send()
        })
        .await
        .map_err(|e| format!("signup: {e}"))?;
        let login = self.logins(&work.logins).await?;
        let refresh = drive(work.refresh_tokens.len(), self.concurrency, 200, |i| {
            let token = work.refresh_tokens.get(i).map_or("", String::as_str);
            self.client
                .post(format!("{}/refresh", self.auth))
                .json(&serde_json::json!({"refresh_token": token}))
                .send()
        })
        .await
        .map_err(|e| format!("refresh: {e}"))?;
        let tokens = work.access_tokens.len().max(1);
        let me = drive(work.me_requests, self.concurrency, 200, |i| {
            let token = work
                .access_tokens
                .get(i % tokens)
                .map_or("", String::as_str);
            self.client
                .get(format!("{}/me", self.profile))
                .bearer_auth(token)
                .send()
        })
        .await
        .map_err(|e| format!("GET /me: {e}"))?;
        Ok(Round {
            signup,
            login,
            refresh,
            me,
        })
    }
}
