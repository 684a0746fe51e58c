//! The developer's one command: `devstack` parses its flags like any
//! command-line tool and starts the stack on the ports it is given.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use shared::api::HealthResponse;

use crate::client::send;
use crate::service::binary;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ports_come_from_flags_and_ctrl_c_stops_everything() {
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .to_string()
    };
    let (auth, profile) = (free(), free());
    let mut child = devstack(&["--auth-addr", &auth, "--profile-addr", &profile])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains("dev stack running"))
    });
    assert!(running.await.unwrap(), "devstack never said it was running");
    let client = reqwest::Client::new();
    for addr in [&auth, &profile] {
        send(client.get(format!("http://{addr}/healthz")))
            .await
            .expect::<HealthResponse>(200);
    }
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::block_in_place(|| child.wait()).unwrap();
    assert_eq!(status.code(), Some(0));
}
