//! One real service binary as a child process: started with exactly the
//! environment a test gives it, its output collected, and its address
//! learnt from the "listening" log line.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection};

/// Where cargo put the service binaries: beside this test binary's folder.
/// The first call in a test run brings them up to date (see
/// [`build_binaries`]), so a plain `cargo test` runs today's code, never a
/// stale or missing binary.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(PathBuf::from)
        .unwrap_or_default();
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(error) = BUILT.get_or_init(|| build_binaries(&dir)) {
        panic!("{error}");
    }
    dir.join(name)
}

/// `cargo build --workspace --bins` into the target folder `profile_dir`
/// belongs to, with that profile: `cargo test` builds the libraries the
/// tests link, not the binaries they start. When the binaries are fresh
/// (CI's `scripts/test` built them just before) this costs a second.
fn build_binaries(profile_dir: &Path) -> Result<(), String> {
    let target_dir = profile_dir.parent().unwrap_or(profile_dir);
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let output = Command::new(env!("CARGO"))
        .args(["build", "--workspace", "--bins", "--profile", profile])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .output()
        .map_err(|error| format!("cannot run cargo to build the service binaries: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "building the service binaries (cargo build --workspace --bins) failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// `bin` with exactly `env` (plus PATH), run in `dir`. A later entry
/// overrides an earlier one; an empty value leaves the variable unset.
pub fn command(bin: &str, env: &[(String, String)], dir: &Path) -> Command {
    let mut vars = std::collections::BTreeMap::new();
    for (name, value) in env {
        vars.insert(name.as_str(), value.as_str());
    }
    vars.retain(|_, value| !value.is_empty());
    let mut command = Command::new(binary(bin));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(vars)
        .current_dir(dir)
        .stdin(Stdio::null());
    command
}

/// One running service binary and everything it printed.
pub struct Service {
    pub(crate) child: Child,
    pub base_url: String,
    /// Where `GET /metrics` answers (the separate metrics listener).
    pub metrics_url: String,
    pub database_url: String,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Service {
    /// Starts `bin` with exactly `env` and waits until it listens.
    pub fn spawn(bin: &str, env: &[(String, String)], database_url: String) -> Self {
        let mut service = Self::start(bin, env, database_url);
        service.wait_listening(Duration::from_secs(60));
        service
    }

    /// Starts `bin` with exactly `env`, without waiting for it.
    pub fn start(bin: &str, env: &[(String, String)], database_url: String) -> Self {
        let mut child = command(bin, env, &std::env::temp_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {bin}: {error}"));
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stdout = child
            .stdout
            .take()
            .map(|out| Box::new(out) as Box<dyn std::io::Read + Send>);
        let stderr = child
            .stderr
            .take()
            .map(|err| Box::new(err) as Box<dyn std::io::Read + Send>);
        for stream in [stdout, stderr].into_iter().flatten() {
            let logs = Arc::clone(&logs);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    logs.lock().unwrap_or_else(|p| p.into_inner()).push(line);
                }
            });
        }
        Self {
            child,
            base_url: String::new(),
            metrics_url: String::new(),
            database_url,
            logs,
        }
    }

    /// Waits until some log line satisfies `condition`, up to `limit`;
    /// panics with the logs when none does or the process exits.
    pub fn wait_for_log(&mut self, limit: Duration, condition: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(line) = self.logs().into_iter().find(|line| condition(line)) {
                return line;
            }
            let exited = matches!(self.child.try_wait(), Ok(Some(_)));
            if exited || Instant::now() > deadline {
                std::thread::sleep(Duration::from_millis(100));
                panic!("awaited log line never came:\n{}", self.logs().join("\n"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the "listening" line and takes the address from it.
    pub fn wait_listening(&mut self, limit: Duration) {
        let line = self.wait_for_log(limit, |line| listening_address(line).is_some());
        let addr = listening_address(&line).unwrap_or_default();
        self.base_url = format!("http://{addr}");
        // The metrics listener is bound (and logged) before the service.
        if let Some(metrics) = self
            .logs()
            .iter()
            .find_map(|line| logged_addr(line, "metrics listening"))
        {
            self.metrics_url = format!("http://{metrics}/metrics");
        }
    }

    /// Every line the service printed so far, stdout and stderr.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit, up to `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// A direct connection to the service's database, for checks the API
    /// cannot make (what is stored, and how).
    pub fn db(&self) -> PgConnection {
        PgConnection::establish(&self.database_url)
            .unwrap_or_else(|e| panic!("cannot connect: {e}"))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn listening_address(line: &str) -> Option<String> {
    logged_addr(line, "listening")
}

fn logged_addr(line: &str, message: &str) -> Option<String> {
    let event: serde_json::Value = serde_json::from_str(line).ok()?;
    (event["message"] == message).then(|| event["addr"].as_str().map(str::to_owned))?
}
