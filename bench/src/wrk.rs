//! `wrk` as the load generator for the `GET /me` comparison: a separate
//! process (one thread, C connections, keep-alive), so the generator does
//! not share a runtime with the server and needs little CPU per request.
//! Its report is parsed; any non-2xx answer fails the phase, socket errors
//! (a request unanswered after 10 s, a connection refused or reset) are
//! reported beside the figures.

use std::process::Command;
use std::time::Duration;

/// How a `wrk` run is made.
#[derive(Debug, Clone)]
pub struct WrkRun {
    pub url: String,
    pub bearer: String,
    pub connections: usize,
    pub duration: Duration,
}

/// What `wrk --latency` reported.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WrkReport {
    pub requests: u64,
    pub requests_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// `Non-2xx or 3xx responses` (wrk counts statuses above 399).
    pub non_2xx: u64,
    /// The `Socket errors:` line, when there is one.
    pub socket_errors: Option<String>,
}

/// Fails with what to do when `wrk` is not on `PATH`.
pub fn check_installed() -> Result<(), String> {
    match Command::new("wrk").arg("--version").output() {
        Ok(_) => Ok(()),
        Err(_) => Err(
            "wrk is not installed: `apt-get install wrk` (scripts/bench does it as root)".into(),
        ),
    }
}

impl WrkRun {
    /// The command line, with the token left out.
    pub fn describe(&self) -> String {
        format!(
            "wrk -t1 -c{} -d{}s --timeout 10s --latency -H 'Authorization: Bearer <access token>' {}",
            self.connections,
            self.duration.as_secs().max(1),
            self.url
        )
    }

    /// Runs `wrk` to the end (on the blocking pool) and parses its report.
    /// Non-2xx answers are an error.
    pub async fn run(&self) -> Result<WrkReport, String> {
        let header = vec![
            "-H".to_owned(),
            format!("Authorization: Bearer {}", self.bearer),
        ];
        run(&self.url, self.connections, self.duration, header).await
    }
}

/// `wrk -t1` with `connections` for `duration` against `url`, `extra`
/// arguments (headers, `-s script.lua`, `-- script arguments`) after the
/// usual ones; its parsed report. Non-2xx answers are an error.
pub async fn run(
    url: &str,
    connections: usize,
    duration: Duration,
    extra: Vec<String>,
) -> Result<WrkReport, String> {
    let target = url.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        let (options, script_args) = match extra.iter().position(|arg| arg == "--") {
            Some(at) => extra.split_at(at),
            None => (&extra[..], &[][..]),
        };
        Command::new("wrk")
            .arg("-t1")
            .arg(format!("-c{connections}"))
            .arg(format!("-d{}s", duration.as_secs().max(1)))
            .args(["--timeout", "10s", "--latency"])
            .args(options)
            .arg(&target)
            .args(script_args)
            .output()
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("cannot run wrk: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "wrk failed ({}): {text}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let report = parse(&text).ok_or_else(|| format!("cannot read wrk's report:\n{text}"))?;
    if report.non_2xx > 0 {
        return Err(format!(
            "{} of {} answers from {url} were not 2xx; wrk said:\n{text}",
            report.non_2xx, report.requests
        ));
    }
    Ok(report)
}

/// Reads `wrk --latency`'s report; `None` when a figure is missing.
pub fn parse(text: &str) -> Option<WrkReport> {
    let mut report = WrkReport::default();
    let (mut rate, mut p50, mut p99, mut requests) = (None, None, None, None);
    for line in text.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("Requests/sec:"), Some(value)) => rate = value.parse().ok(),
            (Some("50%"), Some(value)) => p50 = duration_ms(value),
            (Some("99%"), Some(value)) => p99 = duration_ms(value),
            (Some(count), Some("requests")) => requests = count.parse().ok(),
            _ if line.starts_with("Non-2xx or 3xx responses:") => {
                report.non_2xx = line.rsplit(' ').next()?.parse().ok()?;
            }
            _ if line.starts_with("Socket errors:") => {
                report.socket_errors =
                    Some(line.trim_start_matches("Socket errors:").trim().to_owned());
            }
            _ => {}
        }
    }
    report.requests_per_sec = rate?;
    report.p50_ms = p50?;
    report.p99_ms = p99?;
    report.requests = requests?;
    Some(report)
}

/// `290.00us`, `1.23ms`, `2.00s`, `1.00m` in milliseconds.
fn duration_ms(value: &str) -> Option<f64> {
    let split = value.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match unit {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        _ => return None,
    };
    Some(number * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 3s test @ http://127.0.0.1:40001/me
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.10ms    1.05ms  21.33ms   90.12%
    Req/Sec    30.51k     1.20k   32.00k    70.00%
  Latency Distribution
     50%    1.95ms
     75%    2.40ms
     90%    3.01ms
     99%  850.00us
  91234 requests in 3.00s, 20.10MB read
  Non-2xx or 3xx responses: 12
Requests/sec:  30410.55
Transfer/sec:      6.70MB
";

    #[test]
    fn reads_rate_percentiles_and_failures() {
        let report = parse(REPORT);
        assert_eq!(
            report,
            Some(WrkReport {
                requests: 91234,
                requests_per_sec: 30410.55,
                p50_ms: 1.95,
                p99_ms: 0.85,
                non_2xx: 12,
                socket_errors: None,
            })
        );
    }

    #[test]
    fn socket_errors_are_kept_and_a_missing_figure_is_none() {
        let text = REPORT.replace(
            "Requests/sec",
            "  Socket errors: connect 0, read 3, write 0, timeout 0\nRequests/sec",
        );
        let report = parse(&text);
        assert_eq!(
            report.and_then(|r| r.socket_errors),
            Some("connect 0, read 3, write 0, timeout 0".to_owned())
        );
        assert_eq!(parse(&REPORT.replace("Requests/sec:  30410.55", "")), None);
    }
}
