//! A throwaway PostgreSQL server from the local server binaries: its own
//! data directory in a temp folder, 127.0.0.1 on a free port, `fsync=off`.
//! Run as root it runs as the `postgres` user (PostgreSQL refuses root).
//! [`TempPostgres::stop_when_process_exits`] makes sure it goes away even
//! when the owning process dies without running destructors.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

/// Why the server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or in \
         /usr/lib/postgresql/*/bin: install them (Debian/Ubuntu: apt-get install postgresql) \
         or set DATABASE_URL to a server you run"
    )]
    NotInstalled,
    #[error("running as root, but there is no `postgres` user to run PostgreSQL as")]
    NoPostgresUser,
    #[error("{step} failed: {detail}")]
    Command { step: &'static str, detail: String },
    #[error("I/O error while preparing PostgreSQL")]
    Io(#[from] std::io::Error),
}

/// A running throwaway server. Dropping it stops the server and deletes its
/// data.
pub struct TempPostgres {
    dir: TempDir,
    bin: PathBuf,
    port: u16,
    run_as: Option<(u32, u32)>,
}

impl TempPostgres {
    /// Makes a new cluster and starts it.
    pub fn start() -> Result<Self, PostgresError> {
        let bin = find_binaries().ok_or(PostgresError::NotInstalled)?;
        let run_as = if is_root() {
            Some(postgres_user()?)
        } else {
            None
        };
        let dir = tempfile::Builder::new().prefix("devstack-pg-").tempdir()?;
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))?;
        }
        let mut server = Self {
            dir,
            bin,
            port: 0,
            run_as,
        };
        let data = server.data_dir();
        server.run(
            "initdb",
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "--auth=trust".as_ref(),
                "--encoding=UTF8".as_ref(),
                "--locale=C".as_ref(),
                "--no-sync".as_ref(),
            ],
        )?;
        server.start_again()?;
        Ok(server)
    }

    /// Starts the server again after [`TempPostgres::pause`], on a new
    /// free port the first time and the same port after that.
    pub fn start_again(&mut self) -> Result<(), PostgresError> {
        let mut last_error = None;
        for _ in 0..5 {
            let port = if self.port == 0 {
                free_port()?
            } else {
                self.port
            };
            let options = format!(
                "-p {port} -h 127.0.0.1 -k {} -c fsync=off -c synchronous_commit=off \
                 -c full_page_writes=off -c max_connections=500",
                self.dir.path().display()
            );
            let data = self.data_dir();
            let log = self.dir.path().join("postgres.log");
            let started = self.run(
                "pg_ctl start",
                "pg_ctl",
                &[
                    "-D".as_ref(),
                    data.as_os_str(),
                    "-l".as_ref(),
                    log.as_os_str(),
                    "-o".as_ref(),
                    options.as_ref(),
                    "-w".as_ref(),
                    "-t".as_ref(),
                    "60".as_ref(),
                    "start".as_ref(),
                ],
            );
            match started {
                Ok(()) => {
                    self.port = port;
                    return Ok(());
                }
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or(PostgresError::Command {
            step: "pg_ctl start",
            detail: "no attempt made".into(),
        }))
    }

    /// Stops the server, keeping its data, to simulate an outage.
    pub fn pause(&self) -> Result<(), PostgresError> {
        let data = self.data_dir();
        self.run(
            "pg_ctl stop",
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        )
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Spawns a watchdog that stops the server and deletes its data once
    /// this process is gone, however it ends (a panic, a kill, Ctrl-C).
    pub fn stop_when_process_exits(&self) -> Result<(), PostgresError> {
        let pg_ctl = self.command_line("pg_ctl");
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             {pg_ctl} -D '{data}' -m immediate stop >/dev/null 2>&1; rm -rf '{dir}'",
            pid = std::process::id(),
            data = self.data_dir().display(),
            dir = self.dir.path().display(),
        );
        spawn_watchdog(&script)?;
        Ok(())
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command_line(&self, tool: &str) -> String {
        let tool = self.bin.join(tool).display().to_string();
        match self.run_as {
            Some(_) => format!("runuser -u postgres -- '{tool}'"),
            None => format!("'{tool}'"),
        }
    }

    fn run(
        &self,
        step: &'static str,
        tool: &str,
        args: &[&std::ffi::OsStr],
    ) -> Result<(), PostgresError> {
        let tool = self.bin.join(tool);
        let mut command = match self.run_as {
            Some(_) => {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(&tool);
                command
            }
            None => Command::new(&tool),
        };
        let output = command
            .args(args)
            .current_dir(self.dir.path())
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .output()?;
        if output.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default();
        Err(PostgresError::Command {
            step,
            detail: format!(
                "{}{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
                log.lines().rev().take(5).collect::<Vec<_>>().join(" | ")
            )
            .trim()
            .to_owned(),
        })
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let _ = self.pause();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

fn postgres_user() -> Result<(u32, u32), PostgresError> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, "postgres"]).output().ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    match (id("-u"), id("-g")) {
        (Some(uid), Some(gid)) => Ok((uid, gid)),
        _ => Err(PostgresError::NoPostgresUser),
    }
}

/// The folder holding `initdb` and `pg_ctl`: from PATH, else the newest
/// `/usr/lib/postgresql/<version>/bin`.
fn find_binaries() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|dir| has_tools(dir))
        .map(|dir| {
            dir.join("initdb")
                .canonicalize()
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .unwrap_or(dir)
        });
    on_path.or_else(|| {
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let version = entry.file_name().to_string_lossy().parse().ok()?;
                let bin = entry.path().join("bin");
                has_tools(&bin).then_some((version, bin))
            })
            .collect();
        versions.sort();
        versions.pop().map(|(_, bin)| bin)
    })
}

/// Starts `script` in a detached `sh` that ignores Ctrl-C, so clean-up
/// written as "wait while this process lives, then ..." runs however this
/// process ends.
pub fn spawn_watchdog(script: &str) -> std::io::Result<()> {
    Command::new("sh")
        .arg("-c")
        .arg(format!("trap '' INT TERM HUP; {script}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(drop)
}
