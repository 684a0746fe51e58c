//! Prometheus metrics: served on the separate metrics listener only, with
//! route templates (never raw paths), valid exposition format (`promtool
//! check metrics`), and scraped for real by Debian's Prometheus. Without
//! Prometheus installed they skip, saying so (see `support::tools`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use shared::api::{ErrorCode, TokenResponse};

use crate::support::client::{PASSWORD, new_email, send};
use crate::support::stack::TestStack;
use crate::support::tools::{PROMETHEUS, PROMTOOL};

/// Drives some of everything: signups, a good and a bad login, a refresh,
/// a reuse, a logout, /me, an unknown path.
async fn traffic(stack: &TestStack) {
    let (email, tokens) = stack.new_session().await;
    stack
        .login(&email, "wrong password")
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    let next: TokenResponse = stack.refresh(&tokens.refresh_token).await.expect(200);
    stack.me(&next.access_token).await.expect::<Value>(200);
    send(stack.client.get(stack.auth_url("/no/such/path/4711")))
        .await
        .expect_error(404, ErrorCode::NotFound);
    stack
        .signup(&new_email(), PASSWORD)
        .await
        .expect::<Value>(201);
    stack.logout(&next.refresh_token).await;
}

#[tokio::test]
async fn metrics_are_served_on_their_own_port_with_route_templates() {
    let Some(promtool) = PROMTOOL.required() else {
        return;
    };
    let stack = TestStack::start().await;
    traffic(&stack).await;
    for base in [&stack.auth.base_url, &stack.profile.base_url] {
        send(stack.client.get(format!("{base}/metrics")))
            .await
            .expect_error(404, ErrorCode::NotFound);
    }
    let auth = send(stack.client.get(&stack.auth.metrics_url)).await;
    assert_eq!(auth.status.as_u16(), 200);
    assert!(
        auth.header("content-type")
            .unwrap_or_default()
            .starts_with("text/plain")
    );
    for expected in [
        r#"auth_logins_total{service="auth-service",outcome="success"} 1"#,
        r#"auth_logins_total{service="auth-service",outcome="invalid_grant"} 1"#,
        r#"auth_tokens_issued_total{service="auth-service",kind="access"} 2"#,
        r#"auth_sessions_revoked_total{service="auth-service",reason="logout"} 1"#,
        r#"route="/signup""#,
        r#"route="unmatched""#,
        "http_request_duration_seconds_bucket",
        "http_requests_in_flight",
        "auth_password_hash_duration_seconds_count",
        "auth_hash_gate_in_use",
        r#"db_pool_connections{service="auth-service",state="idle"}"#,
    ] {
        assert!(
            auth.body.contains(expected),
            "{expected} missing from:\n{}",
            auth.body
        );
    }
    assert!(!auth.body.contains("4711"), "a raw path became a label");
    let profile = send(stack.client.get(&stack.profile.metrics_url)).await;
    assert!(profile.body.contains(r#"route="/me""#), "{}", profile.body);
    for (body, service) in [
        (&auth.body, "auth-service"),
        (&profile.body, "profile-service"),
    ] {
        let label = format!(r#"service="{service}""#);
        let unlabelled: Vec<&str> = body
            .lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty() && !line.contains(&label))
            .collect();
        assert!(
            unlabelled.is_empty(),
            "series without {label}: {unlabelled:?}"
        );
    }
    // promtool reads the text format the way Prometheus will.
    for body in [&auth.body, &profile.body] {
        let mut check = Command::new(&promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        check
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        let out = check.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A Prometheus server scraping `targets` every second, on a free port,
/// stopped and deleted on drop.
struct Prometheus {
    child: std::process::Child,
    url: String,
    dir: std::path::PathBuf,
}

impl Prometheus {
    async fn start(program: &Path, client: &reqwest::Client, targets: &[&str]) -> Self {
        let dir = std::env::temp_dir().join(format!("prom-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let targets: Vec<String> = targets
            .iter()
            .map(|url| {
                format!(
                    "'{}'",
                    url.trim_start_matches("http://")
                        .trim_end_matches("/metrics")
                )
            })
            .collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: stack\n    static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        );
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        // The port is picked here and released before Prometheus binds it,
        // so another test's connection may take it first: then Prometheus
        // exits, and it is started again on another port.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new(program)
                .arg(format!(
                    "--config.file={}",
                    dir.join("prometheus.yml").display()
                ))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
                .spawn()
                .unwrap();
            let url = format!("http://127.0.0.1:{port}");
            let ready = format!("{url}/-/ready");
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                let answer = client.get(&ready).send().await;
                if answer.is_ok_and(|reply| reply.status() == 200) {
                    return Self { child, url, dir };
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let log = std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&dir);
        let tail: Vec<&str> = log.lines().rev().take(10).collect();
        panic!(
            "Prometheus did not become ready on any of five ports; the end of its log:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }

    /// The value of an instant `query`, once Prometheus has one.
    async fn value(&self, client: &reqwest::Client, query: &str) -> Option<f64> {
        let reply = client
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", query)])
            .send()
            .await
            .ok()?;
        let body: Value = reply.json().await.ok()?;
        body["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn a_real_prometheus_scrapes_both_services_and_reads_the_figures_back() {
    let Some(prometheus) = PROMETHEUS.required() else {
        return;
    };
    let stack = TestStack::start().await;
    let client = reqwest::Client::new();
    let prometheus = Prometheus::start(
        &prometheus,
        &client,
        &[&stack.auth.metrics_url, &stack.profile.metrics_url],
    )
    .await;
    traffic(&stack).await;
    let expectations = [
        ("sum(up)", 2.0),
        (r#"sum(auth_logins_total{outcome="success"})"#, 1.0),
        (r#"sum(auth_logins_total{outcome="invalid_grant"})"#, 1.0),
        (
            r#"sum(http_requests_total{service="profile-service",route="/me",status="2xx"})"#,
            1.0,
        ),
        (
            r#"sum(http_requests_total{route="unmatched",status="4xx"})"#,
            1.0,
        ),
    ];
    let deadline = Instant::now() + Duration::from_secs(60);
    for (query, expected) in expectations {
        loop {
            let value = prometheus.value(&client, query).await;
            if value == Some(expected) {
                println!("prometheus: {query} = {expected}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{query}: {value:?}, expected {expected}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
