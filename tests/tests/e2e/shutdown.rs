//! Graceful shutdown: SIGTERM and Ctrl-C (SIGINT) let the request in
//! flight finish, then the process exits 0.

use std::process::Command;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::client::{PASSWORD, new_email};
use crate::support::stack::TestStack;

/// Starts `POST /signup` for `email` on `base_url` by hand and returns the
/// connection once the server has read the headers and asked for the body
/// (`Expect: 100-continue`): from then on the request is in flight.
async fn signup_in_flight(base_url: &str, body: &str) -> TcpStream {
    let addr = base_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /signup HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        let read = stream.read(&mut byte).await.unwrap();
        assert_eq!(read, 1, "connection closed before 100 Continue");
        seen.push(byte[0]);
    }
    let interim = String::from_utf8_lossy(&seen);
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_ctrl_c_drain_in_flight_requests_then_exit_0() {
    for signal in ["-TERM", "-INT"] {
        let mut stack = TestStack::start().await;
        let email = new_email();
        let body = serde_json::json!({"email": email, "password": PASSWORD}).to_string();
        let mut stream = signup_in_flight(&stack.auth.base_url, &body).await;
        let pid = stack.auth.pid().to_string();
        let status = Command::new("kill").args([signal, &pid]).status();
        assert!(status.map(|s| s.success()).unwrap_or(false));
        // The process stops accepting, but this request still completes.
        stream.write_all(body.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 201"), "{signal}: {response}");
        let exited = tokio::task::block_in_place(|| stack.auth.wait_exit(Duration::from_secs(30)));
        assert_eq!(exited.and_then(|s| s.code()), Some(0), "{signal}");
        // The account was really created before the process went away.
        let mut db = stack.auth.db();
        let created = crate::support::db::count(
            &mut db,
            &format!("SELECT count(*) FROM users WHERE email = '{email}'"),
        );
        assert_eq!(created, 1, "{signal}");
    }
}
