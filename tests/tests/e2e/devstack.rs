//! The developer's one command: `devstack` parses its flags like any
//! command-line tool and starts the stack on the ports it is given.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use shared::api::HealthResponse;

use crate::support::client::send;
use crate::support::service::binary;

fn devstack(args: &[&str]) -> Command {
    let mut command = Command::new(binary("devstack"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LOG_FORMAT", "json")
        .env("BCRYPT_COST", "4")
        .env("METRICS_BIND_ADDR", "")
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null());
    command
}

#[test]
fn help_exits_0_and_an_unknown_flag_exits_2_without_starting_anything() {
    let help = devstack(&["--help"]).output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("Usage") && text.contains("--auth-addr"),
        "{text}"
    );
    let wrong = devstack(&["--nope"]).output().unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("--nope"));
    let bad_port = devstack(&["--auth-addr", "everywhere"]).output().unwrap();
    assert_eq!(bad_port.status.code(), Some(2));
}

/// Kills devstack (and so its throwaway PostgreSQL) if the test fails
/// before Ctrl-C stops it.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts devstack with `args` and `env`, and returns it with every line of
/// its output up to the first that contains `until`. Its output is read to
/// its end, so it never writes into a closed pipe; what it printed shows if
/// it exits first.
async fn start_until(
    args: &[&str],
    env: &[(&str, &str)],
    until: &'static str,
) -> (Running, Vec<String>) {
    let mut child = Running(
        devstack(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let stderr = child.0.stderr.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            seen.push(line.clone());
            if line.contains(until) {
                let _ = sender.send(Ok(seen.clone()));
            }
        }
        let _ = sender.send(Err(seen));
    });
    let errors = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let first = tokio::task::spawn_blocking(move || receiver.recv_timeout(Duration::from_secs(90)))
        .await
        .unwrap();
    match first {
        Ok(Ok(lines)) => (child, lines),
        Ok(Err(output)) => panic!(
            "devstack exited without printing {until:?} ({:?}); its output:\n{}\n{}",
            child.0.wait().map(|status| status.code()),
            output.join("\n"),
            errors.join().unwrap_or_default()
        ),
        Err(_) => panic!("devstack neither printed {until:?} nor exited in 90 s"),
    }
}

/// Ctrl-C: devstack stops everything and exits 0.
fn interrupt(mut child: Running) {
    let pid = child.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::block_in_place(|| child.0.wait()).unwrap();
    assert_eq!(status.code(), Some(0));
}

/// Starts devstack with `args` and `env` and returns it with the line
/// that says it runs (JSON logs), parsed.
async fn start(args: &[&str], env: &[(&str, &str)]) -> (Running, serde_json::Value) {
    let (child, lines) = start_until(args, env, "dev stack running").await;
    let line = lines.last().map(String::as_str).unwrap_or_default();
    (child, serde_json::from_str(line).unwrap())
}

/// Port 0 with a different loopback address on each flag: the kernel picks
/// free ports as devstack binds, so no other test can take them in between
/// (a port the test picked and released before devstack bound it was once
/// taken by another test's connection in CI), and a flag given to the
/// wrong service shows as the wrong address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ports_come_from_flags_and_ctrl_c_stops_everything() {
    let flags = [("auth", "127.0.0.1"), ("profile", "127.0.0.2")];
    let mut args = Vec::new();
    for (service, ip) in flags {
        args.extend([format!("--{service}-addr"), format!("{ip}:0")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (child, line) = start(&args, &[]).await;
    let running = line.to_string();
    let client = reqwest::Client::new();
    for (service, ip) in flags {
        let url = line[service].as_str().unwrap_or_default();
        let port: u16 = url
            .strip_prefix(&format!("http://{ip}:"))
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| {
                panic!("{service} should listen on {ip}, as --{service}-addr said: {running}")
            });
        assert!(
            ![0, 8001, 8002].contains(&port),
            "{service}: the port the kernel chose, not {port}: {running}"
        );
        send(client.get(format!("{url}/healthz")))
            .await
            .expect::<HealthResponse>(200);
    }
    interrupt(child);
}

/// Both services record into the process's one recorder; each listener
/// serves its own service's series.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_metrics_listener_serves_its_own_services_series() {
    let args = [
        "--auth-addr",
        "127.0.0.1:0",
        "--profile-addr",
        "127.0.0.1:0",
    ];
    let (_child, line) = start(&args, &[("METRICS_BIND_ADDR", "127.0.0.1:0")]).await;
    let client = reqwest::Client::new();
    let url = |name: &str| line[name].as_str().unwrap_or_default().to_owned();
    let email = crate::support::client::new_email();
    let body = serde_json::json!({"email": email, "password": crate::support::client::PASSWORD});
    send(client.post(format!("{}/signup", url("auth"))).json(&body))
        .await
        .expect::<serde_json::Value>(201);
    send(client.get(format!("{}/me", url("profile"))))
        .await
        .expect_error(401, shared::api::ErrorCode::InvalidToken);
    let auth = send(client.get(url("auth_metrics"))).await.body;
    let profile = send(client.get(url("profile_metrics"))).await.body;
    for (own, other, text) in [
        ("auth-service", "profile-service", &auth),
        ("profile-service", "auth-service", &profile),
    ] {
        assert!(
            text.contains(r#"route="/signup""#) == (own == "auth-service"),
            "{text}"
        );
        assert!(
            text.contains(&format!(r#"service="{own}""#)),
            "{own}: {text}"
        );
        assert!(
            !text.contains(other),
            "{own} serves {other}'s series:\n{text}"
        );
    }
    assert!(!profile.contains("auth_"), "{profile}");
    assert!(!auth.contains("profile_cache"), "{auth}");
}

/// On a terminal (pretty logs) a person gets a short block after actix's
/// start-up lines: where each service, its Swagger UI and its metrics
/// are, where mail goes, and how to stop; the logs follow it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_reads_a_short_block_once_the_stack_runs() {
    let args = [
        "--auth-addr",
        "127.0.0.1:0",
        "--profile-addr",
        "127.0.0.2:0",
    ];
    let env = [
        ("LOG_FORMAT", "pretty"),
        ("METRICS_BIND_ADDR", "127.0.0.3:0"),
    ];
    let (child, lines) = start_until(&args, &env, "Ctrl-C stops everything").await;
    let top = lines
        .iter()
        .position(|line| line.contains("The dev stack is running."))
        .unwrap_or_else(|| panic!("no block in:\n{}", lines.join("\n")));
    let (logs, block) = lines.split_at(top);
    assert!(block.len() <= 12, "{}", block.join("\n"));
    for line in block {
        assert!(line.chars().count() <= 100, "a long line: {line}");
    }
    let starting = logs
        .iter()
        .filter(|l| l.contains("starting service"))
        .count();
    // Two services, their metrics listeners, the profile's events listener.
    assert_eq!(starting, 5, "actix's start-up lines come before the block");
    let row = |name: &str| {
        let row = block
            .iter()
            .find(|line| line.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row in:\n{}", block.join("\n")));
        row.split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let client = reqwest::Client::new();
    for (name, ip) in [
        ("auth-service", "127.0.0.1"),
        ("profile-service", "127.0.0.2"),
    ] {
        let words = row(name);
        let url = &words[1];
        assert!(url.starts_with(&format!("http://{ip}:")), "{words:?}");
        assert_eq!(words[2..], ["Swagger", "UI", &format!("{url}/docs/")]);
        send(client.get(format!("{url}/healthz")))
            .await
            .expect::<HealthResponse>(200);
    }
    let mail = row("mail").join(" ");
    assert!(
        mail.starts_with("mail printed here (SMTP catcher on 127.0.0.1:"),
        "{mail}"
    );
    let metrics = row("metrics");
    assert_eq!(metrics.len(), 3, "{metrics:?}");
    for url in &metrics[1..] {
        let reply = send(client.get(url)).await;
        assert_eq!(reply.status.as_u16(), 200, "{url}");
    }
    interrupt(child);
}
