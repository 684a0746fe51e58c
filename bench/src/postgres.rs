//! The benchmark's PostgreSQL: a throwaway server with test-db's settings
//! (`fsync=off`, `synchronous_commit=off`, `full_page_writes=off`, 500
//! connections, 127.0.0.1 on a free port), but started as a child of this
//! process instead of through `pg_ctl`. `pg_ctl` puts the server in a
//! session of its own, and with the kernel's session autogroups on
//! (`kernel.sched_autogroup_enabled=1`, the default of most distributions)
//! the scheduler then shares the cores between two groups, PostgreSQL's
//! backends in one and the services and `wrk` in the other, which made a
//! backend wait for a CPU far longer than any thread among equals
//! (`docs/benchmarks.md`, "The rare stall"). A child stays in this
//! session, so every process of a run is in one group.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection};

/// A PostgreSQL server in this process's session, stopped and deleted on
/// drop (or by a watchdog, if this process dies first).
pub struct SessionPostgres {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl SessionPostgres {
    /// Creates a cluster in a fresh folder and starts it.
    pub fn start() -> Result<Self, String> {
        let bin = bin_dir()?;
        let dir = std::env::temp_dir().join(format!("auth-stack-bench-pg-{}", std::process::id()));
        let data = dir.join("data");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        // initdb and postgres refuse to run as root.
        let owner = postgres_user()?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .map_err(|e| format!("chown {}: {e}", dir.display()))?;
        }
        let as_owner = |command: &mut Command| {
            if let Some((uid, gid)) = owner {
                command.uid(uid).gid(gid);
            }
        };
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "--encoding=UTF8"])
            .args(["--locale=C", "--no-sync"])
            .env("LC_ALL", "C")
            .current_dir(&dir)
            .stdin(Stdio::null());
        as_owner(&mut initdb);
        let made = initdb
            .output()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !made.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&made.stderr)
            ));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let log = File::create(dir.join("postgres.log")).map_err(|e| e.to_string())?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let mut postgres = Command::new(bin.join("postgres"));
        postgres
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-h", "127.0.0.1", "-k"])
            .arg(&dir)
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=500"])
            .env("LC_ALL", "C")
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        as_owner(&mut postgres);
        let child = postgres
            .spawn()
            .map_err(|e| format!("cannot start postgres: {e}"))?;
        let server = Self { child, dir, port };
        server.stop_when_this_process_exits()?;
        server.wait_ready(Duration::from_secs(60))?;
        Ok(server)
    }

    /// The URL of database `name`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_ready(&self, limit: Duration) -> Result<(), String> {
        let started = Instant::now();
        loop {
            match PgConnection::establish(&self.url("postgres")) {
                Ok(_) => return Ok(()),
                Err(error) if started.elapsed() > limit => {
                    return Err(format!(
                        "PostgreSQL not ready after {limit:?}: {error} (log in {})",
                        self.dir.join("postgres.log").display()
                    ));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// A watchdog that stops the server and deletes its folder if this
    /// process dies first (Ctrl-C, a kill).
    fn stop_when_this_process_exits(&self) -> Result<(), String> {
        let script = format!(
            "while kill -0 {me} 2>/dev/null && kill -0 {pg} 2>/dev/null; do sleep 1; done; \
             if ! kill -0 {me} 2>/dev/null; then kill -INT {pg} 2>/dev/null; sleep 2; \
             kill -KILL {pg} 2>/dev/null; rm -rf '{dir}'; fi",
            me = std::process::id(),
            pg = self.child.id(),
            dir = self.dir.display()
        );
        test_db::spawn_watchdog(&script).map_err(|e| format!("cannot start the watchdog: {e}"))
    }
}

impl Drop for SessionPostgres {
    fn drop(&mut self) {
        // SIGINT: PostgreSQL's fast shutdown.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The scheduler group of process `pid` (`/proc/<pid>/autogroup`, such
/// as `/autogroup-17 nice 0`), when the kernel has one.
pub fn autogroup(pid: u32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/autogroup")).ok()?;
    Some(text.trim().to_owned())
}

/// The folder of `initdb` and `postgres`: from `PATH`, else the newest
/// `/usr/lib/postgresql/*/bin`.
fn bin_dir() -> Result<PathBuf, String> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    if let Some(dir) = on_path.into_iter().find(|dir| has_tools(dir)) {
        return Ok(dir);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
                .filter(|dir| has_tools(dir))
                .collect()
        })
        .unwrap_or_default();
    found.sort_by_key(|dir| {
        dir.parent()
            .and_then(|version| version.file_name())
            .and_then(|name| name.to_str())
            .and_then(|name| name.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop().ok_or_else(|| {
        "PostgreSQL server binaries (initdb, postgres) were not found on PATH or in \
         /usr/lib/postgresql/*/bin (Debian: postgresql), and DATABASE_URL is not set"
            .into()
    })
}

/// The `postgres` user's uid and gid when this process runs as root.
fn postgres_user() -> Result<Option<(u32, u32)>, String> {
    let id = |flag: &str, user: Option<&str>| -> Option<u32> {
        let output = Command::new("id").arg(flag).args(user).output().ok()?;
        String::from_utf8_lossy(&output.stdout).trim().parse().ok()
    };
    if id("-u", None) != Some(0) {
        return Ok(None);
    }
    match (id("-u", Some("postgres")), id("-g", Some("postgres"))) {
        (Some(uid), Some(gid)) => Ok(Some((uid, gid))),
        _ => Err("running as root, but there is no postgres user to run PostgreSQL as".into()),
    }
}
