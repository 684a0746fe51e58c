//! The services under test as child processes: the release binaries next
//! to this one (`target/release/`), each on port 0 with its own log file
//! and its own database on the benchmark's PostgreSQL (the `test-db`
//! crate's throwaway server, or `DATABASE_URL`); [`super::running`] reads
//! back the port each one bound.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use shared::keys::random_secret;
use test_db::PgServer;

use super::postgres::SessionPostgres;
use super::running::{Binary, Service};

/// The `RUST_LOG` directive that keeps the services' `"listening"` line
/// (`service_kit::startup` logs it at `info`) whatever `BENCH_RUST_LOG` says.
const STARTUP_LOG: &str = "service_kit::startup=info";

/// The PostgreSQL server, secrets, binaries and log folder of one run.
pub struct Testbed {
    pub database: PgServer,
    /// The server started for this run (none with `DATABASE_URL`),
    /// stopped when the testbed is dropped.
    own_server: Option<SessionPostgres>,
    pub bin_dir: PathBuf,
    pub logs: PathBuf,
    /// `JWT_SECRET_KEY`, so the benchmark can verify what it is given.
    pub access_secret: String,
    refresh_secret: String,
    rust_log: String,
    http: reqwest::Client,
    /// Binaries started so far, to name their logs.
    started: AtomicUsize,
}

impl Testbed {
    /// Starts PostgreSQL (unless `DATABASE_URL` names one), creates the
    /// `auth` and `profile` databases, and finds the binaries.
    pub async fn prepare() -> Result<Self, String> {
        let bin_dir = match std::env::var_os("BENCH_BIN_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => std::env::current_exe()
                .map_err(|e| format!("cannot find this binary: {e}"))?
                .parent()
                .map(PathBuf::from)
                .ok_or("this binary has no folder")?,
        };
        for binary in [Binary::Auth, Binary::Profile, Binary::Ceiling] {
            let path = bin_dir.join(binary.file_name());
            if !path.is_file() {
                return Err(format!(
                    "{} is missing: build the binaries first (scripts/bench does: \
                     cargo build --release -p bench -p auth-service -p profile-service)",
                    path.display()
                ));
            }
        }
        let logs = std::env::temp_dir().join(format!("auth-stack-bench-{}", std::process::id()));
        std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
        let (database, own_server) = tokio::task::spawn_blocking(|| {
            let (server, own) = match std::env::var("DATABASE_URL") {
                Ok(url) if !url.trim().is_empty() => (PgServer::Given(url), None),
                _ => {
                    let own = SessionPostgres::start()?;
                    (PgServer::Given(own.url("postgres")), Some(own))
                }
            };
            for name in ["auth", "profile"] {
                server
                    .create_database_if_missing(name)
                    .map_err(|e| format!("PostgreSQL: {}", service_kit::error::Chain(&e)))?;
            }
            Ok::<_, String>((server, own))
        })
        .await
        .map_err(|e| e.to_string())??;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            database,
            own_server,
            bin_dir,
            logs,
            access_secret: random_secret(),
            refresh_secret: random_secret(),
            rust_log: std::env::var("BENCH_RUST_LOG").unwrap_or_else(|_| "warn".into()),
            http,
            started: AtomicUsize::new(0),
        })
    }

    /// Prints where everything is and how the services log.
    pub fn describe(&self) {
        let database = match &self.own_server {
            Some(own) => format!(
                "a throwaway PostgreSQL started by this process in its own session \
                 (`postgres` as a child, not through pg_ctl) at {}",
                own.url("")
            ),
            None => self.database.describe(),
        };
        println!(
            "- services: the release binaries in {}, each a separate process on a port \
             the kernel picks, on {database}; RUST_LOG={},{STARTUP_LOG} (BENCH_RUST_LOG, plus the \
             start-up line that says where a service listens; `info` adds a log line per \
             request), logs in {}",
            self.bin_dir.display(),
            self.rust_log,
            self.logs.display()
        );
        if let Some(note) = autogroup_note(self.own_server.as_ref().map(SessionPostgres::pid)) {
            println!("{note}");
        }
    }

    /// The URL of database `name`, naming `application` to PostgreSQL
    /// (`pg_stat_activity.application_name`).
    pub fn database_url(&self, name: &str, application: &str) -> String {
        let url = self.database.url(name);
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}application_name={application}")
    }

    /// Starts `binary` on port 0 with the variables the README documents,
    /// over `extra`, and waits until its `/readyz` answers 200.
    pub async fn start(&self, binary: Binary, extra: &[(&str, String)]) -> Result<Service, String> {
        let name = binary.file_name();
        let run = self.started.fetch_add(1, Ordering::Relaxed) + 1;
        let log_path = self.logs.join(format!("{name}-{run}.log"));
        let log = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let mut command = Command::new(self.bin_dir.join(name));
        command
            .env("DATABASE_URL", self.database_url(binary.database(), name))
            .env("JWT_SECRET_KEY", &self.access_secret)
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("METRICS_BIND_ADDR", "")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", format!("{},{STARTUP_LOG}", self.rust_log))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        if binary == Binary::Auth {
            command.env("JWT_REFRESH_SECRET_KEY", &self.refresh_secret);
        }
        for (key, value) in extra {
            command.env(key, value);
        }
        let spawned = Instant::now();
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        Service::started(binary, child, log_path, spawned, &self.http).await
    }

    /// Deletes the logs of a run that went well.
    pub fn finish(self) {
        let _ = std::fs::remove_dir_all(&self.logs);
    }
}

/// The kernel's session autogroups, and the scheduler group of this
/// process and of the PostgreSQL server it started: with autogroups on,
/// a server in a session of its own (`pg_ctl`'s, or `DATABASE_URL`'s)
/// gets the CPU as one group and the services and wrk as another, which
/// made the cache-off p99 rarely jump to hundreds of ms
/// (docs/benchmarks.md, "The rare stall"); the server this process starts
/// shares its group.
fn autogroup_note(server: Option<u32>) -> Option<String> {
    let enabled = std::fs::read_to_string("/proc/sys/kernel/sched_autogroup_enabled").ok()?;
    let state = if enabled.trim() == "1" { "on" } else { "off" };
    let group = |pid: u32| crate::postgres::autogroup(pid).unwrap_or_else(|| "?".into());
    let groups = match server {
        Some(pid) => format!(
            "this process is in {}, PostgreSQL in {}",
            group(std::process::id()),
            group(pid)
        ),
        None => {
            "PostgreSQL is DATABASE_URL's, in a group of its own when autogroups are on".to_owned()
        }
    };
    Some(format!(
        "- scheduler: kernel.sched_autogroup_enabled is {state}; {groups} (the services and \
         wrk share this process's)"
    ))
}
