//! The binaries the benchmark starts, and one of them running as a child
//! process, stopped on drop. It binds port 0, so the kernel picks a free
//! port as it binds and nothing can take it in between; its address is
//! read back from the `"listening"` line it logs (the services' JSON log
//! line; the ceiling prints the same shape), as the end-to-end harness
//! does. Start-up is timed from spawn to the first `/readyz` 200.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use service_kit::startup::reachable;

/// A binary the benchmark starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    Auth,
    Profile,
    /// `bench/src/bin/ceiling.rs`: JWT verification alone.
    Ceiling,
}

impl Binary {
    /// The file name in `target/release/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Auth => "auth-service",
            Self::Profile => "profile-service",
            Self::Ceiling => "ceiling",
        }
    }

    /// The database it uses (the ceiling is given one it never opens).
    pub fn database(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Profile | Self::Ceiling => "profile",
        }
    }
}

/// How long a binary may take from spawn to ready.
const START_LIMIT: Duration = Duration::from_secs(60);

/// A running service (or the ceiling server), stopped on drop.
pub struct Service {
    pub binary: Binary,
    child: Child,
    /// `http://127.0.0.1:<port>`, the port the kernel chose.
    pub url: String,
    /// From spawn to the first `/readyz` 200.
    pub startup: Duration,
    log: PathBuf,
}

impl Service {
    /// Takes over `child` (spawned at `spawned`, writing to `log`), learns
    /// its address and waits until its `/readyz` answers 200.
    pub(crate) async fn started(
        binary: Binary,
        child: Child,
        log: PathBuf,
        spawned: Instant,
        http: &reqwest::Client,
    ) -> Result<Self, String> {
        let mut service = Self {
            binary,
            child,
            url: String::new(),
            startup: Duration::ZERO,
            log,
        };
        stop_when_this_process_exits(service.pid())?;
        let deadline = spawned + START_LIMIT;
        let addr = service.wait_listening(deadline).await?;
        service.url = format!("http://{}", reachable(addr));
        service.startup = service.wait_ready(http, spawned, deadline).await?;
        Ok(service)
    }

    /// The process id, for `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The address of the first log line whose `message` is `message`
    /// (`"metrics listening"`, say).
    pub fn logged_addr(&self, message: &str) -> Option<SocketAddr> {
        let log = std::fs::read_to_string(&self.log).ok()?;
        log.lines().find_map(|line| logged(line, message))
    }

    /// The address in the first `"listening"` line of the log.
    async fn wait_listening(&mut self, deadline: Instant) -> Result<SocketAddr, String> {
        loop {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(addr) = log.lines().find_map(listening_addr) {
                return Ok(addr);
            }
            self.check_running(deadline, "logged no \"listening\" line")?;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    async fn wait_ready(
        &mut self,
        http: &reqwest::Client,
        spawned: Instant,
        deadline: Instant,
    ) -> Result<Duration, String> {
        let url = format!("{}/readyz", self.url);
        loop {
            if let Ok(response) = http.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(spawned.elapsed());
            }
            self.check_running(deadline, "not ready")?;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// An error if the process exited or `deadline` passed (then it is
    /// still `waiting`).
    fn check_running(&mut self, deadline: Instant, waiting: &str) -> Result<(), String> {
        let name = self.binary.file_name();
        if let Ok(Some(status)) = self.child.try_wait() {
            return Err(format!("{name} exited ({status}): {}", self.log_tail()));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{name} {waiting} after {} s: {}",
                START_LIMIT.as_secs(),
                self.log_tail()
            ));
        }
        Ok(())
    }

    /// The last lines of the service's log, for an error message.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().rev().take(5).collect();
        format!(
            "{} (log {})",
            lines.into_iter().rev().collect::<Vec<_>>().join(" | "),
            self.log.display()
        )
    }

    /// Stops the process: SIGTERM (it drains), SIGKILL after 5 s.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let pid = self.pid().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `addr` of a JSON log line whose `message` is `"listening"` (not
/// `"metrics listening"`).
fn listening_addr(line: &str) -> Option<SocketAddr> {
    logged(line, "listening")
}

/// The `addr` of a JSON log line whose `message` is `message`.
fn logged(line: &str, message: &str) -> Option<SocketAddr> {
    let event: serde_json::Value = serde_json::from_str(line).ok()?;
    if event["message"] != message {
        return None;
    }
    event["addr"].as_str()?.parse().ok()
}

/// A watchdog that kills `child` if this process dies first (Ctrl-C, a
/// kill), so no service outlives the benchmark.
fn stop_when_this_process_exits(child: u32) -> Result<(), String> {
    let script = format!(
        "while kill -0 {me} 2>/dev/null && kill -0 {child} 2>/dev/null; do sleep 1; done; \
         kill -0 {me} 2>/dev/null || kill -KILL {child} 2>/dev/null",
        me = std::process::id()
    );
    test_db::spawn_watchdog(&script).map_err(|e| format!("cannot start the watchdog: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_comes_from_the_listening_line_only() {
        let service =
            r#"{"level":"INFO","message":"listening","service":"auth","addr":"127.0.0.1:40123"}"#;
        let metrics = r#"{"message":"metrics listening","addr":"127.0.0.1:9101"}"#;
        assert_eq!(
            listening_addr(service),
            Some(SocketAddr::from(([127, 0, 0, 1], 40123)))
        );
        assert_eq!(listening_addr(metrics), None);
        assert_eq!(listening_addr("listening on 127.0.0.1:1"), None);
    }
}
