//! The subcommands every service binary has besides serving:
//! `healthcheck`, for container health checks without curl or a shell.
//! Services add their own (the auth service's `generate-secrets`).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

/// What the command line asks for.
pub enum Command {
    /// No arguments: run the service.
    Serve,
    /// `healthcheck`.
    Healthcheck,
    /// Anything else, for the service to handle or refuse.
    Other(Vec<String>),
}

/// Reads the command line.
pub fn parse() -> Command {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => Command::Serve,
        Some("healthcheck") if args.len() == 1 => Command::Healthcheck,
        Some(_) => Command::Other(args),
    }
}

/// Prints `usage` and returns exit code 0 for `--help`, 2 for anything
/// else (an unknown subcommand or flag).
pub fn usage(args: &[String], usage: &str) -> ExitCode {
    if args
        .iter()
        .any(|a| a == "--help" || a == "-h" || a == "help")
    {
        println!("{usage}");
        ExitCode::SUCCESS
    } else {
        eprintln!("unknown arguments {args:?}\n\n{usage}");
        ExitCode::from(2)
    }
}

/// `healthcheck`: exits 0 when this service's own `GET /readyz` (on
/// `BIND_ADDR`, else `default_bind`) answers 200 within 3 s, else 1.
pub fn healthcheck(default_bind: SocketAddr) -> ExitCode {
    crate::config::load_dotenv();
    let bind = std::env::var("BIND_ADDR")
        .ok()
        .and_then(|value| value.trim().parse::<SocketAddr>().ok())
        .unwrap_or(default_bind);
    let url = format!("http://{}/readyz", crate::startup::reachable(bind));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(3)))
        .build()
        .into();
    match agent.get(&url).call() {
        Ok(response) if response.status() == 200 => ExitCode::SUCCESS,
        Ok(response) => {
            eprintln!("healthcheck: {url} answered {}", response.status());
            ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("healthcheck: {url}: {error}");
            ExitCode::from(1)
        }
    }
}
