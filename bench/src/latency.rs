//! Closed-loop load from this process (reqwest) and latency percentiles,
//! for the phases that need more than one URL and one token.

use std::future::Future;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream;

/// The sample at quantile `q` (0.0 to 1.0) of sorted `samples`, in ms.
pub fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(index).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// p50, p95, p99 and max of `samples`, in milliseconds.
pub fn percentiles(samples: &mut [Duration]) -> String {
    samples.sort();
    format!(
        "p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        quantile_ms(samples, 0.50),
        quantile_ms(samples, 0.95),
        quantile_ms(samples, 0.99),
        quantile_ms(samples, 1.0)
    )
}

/// One answer, read to its end: status, body and time from send to the
/// last byte.
pub struct Timed {
    pub status: u16,
    pub body: bytes::Bytes,
    pub latency: Duration,
}

/// Awaits `request` and its whole body, timing both.
pub async fn send_timed(
    request: impl Future<Output = reqwest::Result<reqwest::Response>>,
) -> Result<Timed, String> {
    let sent = Instant::now();
    let response = request.await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    Ok(Timed {
        status,
        body,
        latency: sent.elapsed(),
    })
}

/// Runs `count` requests made by `make`, `concurrency` at a time; returns
/// the wall time and each request's (status, latency).
pub async fn load_any<F, Fut>(
    count: usize,
    concurrency: usize,
    make: F,
) -> Result<(Duration, Vec<(u16, Duration)>), String>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = reqwest::Result<reqwest::Response>>,
{
    let started = Instant::now();
    let replies: Vec<Result<Timed, String>> = stream::iter(0..count)
        .map(|i| send_timed(make(i)))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let replies = replies
        .into_iter()
        .map(|reply| reply.map(|timed| (timed.status, timed.latency)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((started.elapsed(), replies))
}

/// Like [`load_any`], but any status other than 2xx fails; returns the
/// wall time and each request's latency.
pub async fn load<F, Fut>(
    count: usize,
    concurrency: usize,
    make: F,
) -> Result<(Duration, Vec<Duration>), String>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = reqwest::Result<reqwest::Response>>,
{
    let (wall, replies) = load_any(count, concurrency, make).await?;
    if let Some((status, _)) = replies.iter().find(|(s, _)| !(200..300).contains(s)) {
        return Err(format!("status {status}"));
    }
    Ok((wall, replies.into_iter().map(|(_, d)| d).collect()))
}
