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

/// Port 0 on both flags: the kernel picks free ports as devstack binds, so
/// no other test can take them in between (a port picked by the test and
/// released before devstack bound it was once taken by another test's
/// connection in CI). The flags still decide: without them devstack would
/// listen on 8001 and 8002.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ports_come_from_flags_and_ctrl_c_stops_everything() {
    let any_port = "127.0.0.1:0";
    let mut child = devstack(&["--auth-addr", any_port, "--profile-addr", any_port])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    // devstack's output is read to its end, so it never writes into a
    // closed pipe; the line that says the stack runs is sent on, and every
    // line is kept to show why if devstack exits before it.
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("dev stack running") {
                let _ = sender.send(Ok(line.clone()));
            }
            seen.push(line);
        }
        let _ = sender.send(Err(seen));
    });
    let errors = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let first = tokio::task::spawn_blocking(move || receiver.recv())
        .await
        .unwrap()
        .unwrap();
    let running = match first {
        Ok(line) => line,
        Err(output) => panic!(
            "devstack exited without saying it was running ({:?}); its output:\n{}\n{}",
            child.wait().map(|status| status.code()),
            output.join("\n"),
            errors.join().unwrap_or_default()
        ),
    };
    let line: serde_json::Value = serde_json::from_str(&running).unwrap();
    let mut addrs = Vec::new();
    for field in ["auth", "profile"] {
        let url = line[field].as_str().unwrap_or_default();
        let addr = url.trim_start_matches("http://").to_owned();
        let port: u16 = addr
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse().ok())
            .unwrap_or_else(|| panic!("no port in {field} = {url:?}: {running}"));
        assert!(
            addr.starts_with("127.0.0.1:") && ![0, 8001, 8002].contains(&port),
            "{field} should listen where --{field}-addr said, on the port the kernel chose: {running}"
        );
        addrs.push(addr);
    }
    assert_ne!(addrs[0], addrs[1]);
    let client = reqwest::Client::new();
    for addr in &addrs {
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
