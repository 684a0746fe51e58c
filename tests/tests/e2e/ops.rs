//! What operators see: health, routing errors, docs, configuration errors,
//! logs, shutdown and database outages.

use std::process::Command;
use std::time::{Duration, Instant};

use devstack::postgres::TempPostgres;
use serde_json::Value;
use shared::api::{ErrorCode, HealthResponse};

use crate::client::{PASSWORD, new_email, send};
use crate::stack::{Service, TestStack, binary, random_secret};

#[tokio::test]
async fn health_and_readiness_are_200_on_both_services() {
    let stack = TestStack::start().await;
    for base in [&stack.auth.base_url, &stack.profile.base_url] {
        for path in ["/healthz", "/readyz"] {
            let health: HealthResponse = send(stack.client.get(format!("{base}{path}")))
                .await
                .expect(200);
            assert_eq!(health.status, "ok");
        }
        let head = send(stack.client.head(format!("{base}/healthz"))).await;
        assert_eq!(head.status.as_u16(), 200);
    }
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_in_json() {
    let stack = TestStack::start().await;
    for base in [&stack.auth.base_url, &stack.profile.base_url] {
        send(stack.client.get(format!("{base}/nope")))
            .await
            .expect_error(404, ErrorCode::NotFound);
        for path in ["/docs/", "/openapi.json"] {
            let reply = send(stack.client.post(format!("{base}{path}"))).await;
            reply.expect_error(405, ErrorCode::MethodNotAllowed);
        }
        send(stack.client.delete(format!("{base}/healthz")))
            .await
            .expect_error(405, ErrorCode::MethodNotAllowed);
    }
    for path in ["/signup", "/login", "/refresh", "/logout"] {
        let reply = send(stack.client.get(stack.auth_url(path))).await;
        let body = reply.expect_error(405, ErrorCode::MethodNotAllowed);
        assert_eq!(reply.header("allow"), Some("POST"));
        // Only the token endpoints speak OAuth 2.0 error bodies.
        let token_endpoint = matches!(path, "/login" | "/refresh");
        assert_eq!(body.error_description.is_some(), token_endpoint, "{path}");
    }
    let put = send(stack.client.put(stack.profile_url("/me"))).await;
    put.expect_error(405, ErrorCode::MethodNotAllowed);
    assert_eq!(put.header("allow"), Some("GET, PATCH"));
}

#[tokio::test]
async fn docs_and_openapi_are_served_by_both_services() {
    let token_url = "https://auth.example.com/login";
    let stack = TestStack::builder()
        .profile_env("AUTH_TOKEN_URL", token_url)
        .start()
        .await;
    for base in [&stack.auth.base_url, &stack.profile.base_url] {
        let redirect = send(stack.client.get(format!("{base}/docs"))).await;
        assert!(redirect.status.is_redirection(), "{}", redirect.status);
        let page = send(stack.client.get(format!("{base}/docs/"))).await;
        assert_eq!(page.status.as_u16(), 200);
        assert!(page.body.contains("swagger-ui"), "not Swagger UI");
        let doc: Value = send(stack.client.get(format!("{base}/openapi.json")))
            .await
            .expect(200);
        assert!(
            doc["openapi"]
                .as_str()
                .unwrap_or_default()
                .starts_with("3.1")
        );
        for path in ["/healthz", "/readyz", "/openapi.json", "/docs/"] {
            assert!(
                doc["paths"][path]["get"].is_object(),
                "{path} missing from {base}"
            );
        }
    }
    let auth: Value = send(stack.client.get(stack.auth_url("/openapi.json")))
        .await
        .json();
    for path in ["/signup", "/login", "/refresh", "/logout", "/readyz"] {
        assert!(
            auth["paths"][path]["post"].is_object() || auth["paths"][path]["get"].is_object(),
            "{path}"
        );
    }
    let profile: Value = send(stack.client.get(stack.profile_url("/openapi.json")))
        .await
        .json();
    let flow = &profile["components"]["securitySchemes"]["oauth2"]["flows"]["password"];
    assert_eq!(flow["tokenUrl"], token_url);
    assert!(profile["paths"]["/me"]["patch"].is_object());
}

/// Runs `bin` with exactly `env` and returns (exit code, output lines).
fn run_to_exit(bin: &str, env: &[(&str, &str)]) -> (Option<i32>, Vec<String>) {
    let output = Command::new(binary(bin))
        .env_clear()
        .envs(env.iter().copied())
        .env("LOG_FORMAT", "json")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (
        output.status.code(),
        text.lines().map(str::to_owned).collect(),
    )
}

#[test]
fn bad_configuration_exits_2_with_one_line_naming_each_variable() {
    let secret = random_secret();
    let other = random_secret();
    let url = "postgres://nobody@127.0.0.1:1/none";
    // (binary, environment, what the one error line must name)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "auth-service",
            vec![],
            vec!["DATABASE_URL", "JWT_SECRET_KEY", "JWT_REFRESH_SECRET_KEY"],
        ),
        (
            "profile-service",
            vec![],
            vec!["DATABASE_URL", "JWT_SECRET_KEY"],
        ),
        (
            "auth-service",
            vec![
                ("DATABASE_URL", url),
                ("JWT_SECRET_KEY", "short"),
                ("JWT_REFRESH_SECRET_KEY", &other),
            ],
            vec!["JWT_SECRET_KEY"],
        ),
        (
            "auth-service",
            vec![
                ("DATABASE_URL", url),
                ("JWT_SECRET_KEY", &secret),
                ("JWT_REFRESH_SECRET_KEY", &secret),
            ],
            vec!["must differ"],
        ),
        (
            "auth-service",
            vec![
                ("DATABASE_URL", url),
                ("JWT_SECRET_KEY", &secret),
                ("JWT_REFRESH_SECRET_KEY", &other),
                ("BCRYPT_COST", "3"),
                ("ACCESS_TOKEN_EXPIRE_MINUTES", "soon"),
                ("TRUSTED_PROXIES", "10.0.0.1,proxy"),
            ],
            vec![
                "BCRYPT_COST",
                "ACCESS_TOKEN_EXPIRE_MINUTES",
                "TRUSTED_PROXIES",
            ],
        ),
        (
            "profile-service",
            vec![
                ("DATABASE_URL", url),
                ("JWT_SECRET_KEY", &secret),
                ("BIND_ADDR", "everywhere"),
            ],
            vec!["BIND_ADDR"],
        ),
    ];
    for (bin, env, named) in cases {
        let (code, lines) = run_to_exit(bin, &env);
        assert_eq!(code, Some(2), "{bin} {env:?}: {lines:?}");
        let errors: Vec<&String> = lines.iter().filter(|l| l.contains("\"ERROR\"")).collect();
        assert_eq!(errors.len(), 1, "one line: {lines:?}");
        for name in named {
            assert!(
                errors[0].contains(name),
                "{name} not named in {}",
                errors[0]
            );
        }
        assert!(
            !errors[0].contains(&secret) && !errors[0].contains(&other),
            "a secret was printed"
        );
    }
}

#[tokio::test]
async fn a_service_started_before_its_database_exists_waits_for_it() {
    let pg =
        tokio::task::spawn_blocking(|| TempPostgres::start().unwrap_or_else(|e| panic!("{e}")))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    let url = pg.url("late");
    let env: Vec<(String, String)> = [
        ("DATABASE_URL", url.as_str()),
        ("JWT_SECRET_KEY", &random_secret()),
        ("BIND_ADDR", "127.0.0.1:0"),
        ("LOG_FORMAT", "json"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let admin = pg.url("postgres");
    let creator = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(3));
        use diesel::{Connection, RunQueryDsl};
        let mut conn = diesel::PgConnection::establish(&admin).unwrap_or_else(|e| panic!("{e}"));
        diesel::sql_query("CREATE DATABASE late")
            .execute(&mut conn)
            .unwrap_or_else(|e| panic!("{e}"));
    });
    let started = Instant::now();
    let service = tokio::task::spawn_blocking(move || Service::spawn("profile-service", &env, url))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(started.elapsed() >= Duration::from_secs(3));
    creator.join().unwrap_or_else(|_| panic!("creator failed"));
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    send(client.get(format!("{}/readyz", service.base_url)))
        .await
        .expect::<HealthResponse>(200);
    assert!(
        service.logs().iter().any(|l| l.contains("retrying")),
        "no retry was logged"
    );
}

#[tokio::test]
async fn a_database_outage_gives_503_and_the_services_recover_by_themselves() {
    let mut pg =
        tokio::task::spawn_blocking(|| TempPostgres::start().unwrap_or_else(|e| panic!("{e}")))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    for db in ["auth", "profile"] {
        use diesel::{Connection, RunQueryDsl};
        let mut conn =
            diesel::PgConnection::establish(&pg.url("postgres")).unwrap_or_else(|e| panic!("{e}"));
        diesel::sql_query(format!("CREATE DATABASE {db}"))
            .execute(&mut conn)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let secret = random_secret();
    let env = |db: &str| -> Vec<(String, String)> {
        [
            ("DATABASE_URL", pg.url(db)),
            ("JWT_SECRET_KEY", secret.clone()),
            ("JWT_REFRESH_SECRET_KEY", random_secret()),
            ("BIND_ADDR", "127.0.0.1:0".into()),
            ("LOG_FORMAT", "json".into()),
            ("BCRYPT_COST", "4".into()),
            ("DB_CONNECT_TIMEOUT_SECONDS", "1".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    };
    let auth = Service::spawn("auth-service", &env("auth"), pg.url("auth"));
    let profile = Service::spawn("profile-service", &env("profile"), pg.url("profile"));
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let signup = |email: String| {
        client
            .post(format!("{}/signup", auth.base_url))
            .json(&serde_json::json!({"email": email, "password": PASSWORD}))
    };
    send(signup(new_email())).await.expect::<Value>(201);

    pg.pause().unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    send(signup(new_email()))
        .await
        .expect_error(503, ErrorCode::Unavailable);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "503 took {:?}",
        started.elapsed()
    );
    for base in [&auth.base_url, &profile.base_url] {
        send(client.get(format!("{base}/readyz")))
            .await
            .expect_error(503, ErrorCode::Unavailable);
        send(client.get(format!("{base}/healthz")))
            .await
            .expect::<HealthResponse>(200);
    }

    let _pg = tokio::task::spawn_blocking(move || {
        pg.start_again().unwrap_or_else(|e| panic!("{e}"));
        pg
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reply = send(signup(new_email())).await;
        if reply.status.as_u16() == 201 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "did not recover: {} {}",
            reply.status,
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    send(client.get(format!("{}/readyz", profile.base_url)))
        .await
        .expect::<HealthResponse>(200);
}

#[tokio::test]
async fn sigterm_and_ctrl_c_drain_in_flight_requests_then_exit_0() {
    for signal in ["-TERM", "-INT"] {
        let mut stack = TestStack::builder()
            .auth_env("BCRYPT_COST", "12")
            .start()
            .await;
        let email = new_email();
        let request = stack.signup(&email, PASSWORD);
        let pid = stack.auth.pid();
        let send_signal = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let status = Command::new("kill")
                .args([signal, &pid.to_string()])
                .status();
            assert!(status.map(|s| s.success()).unwrap_or(false));
        };
        let (reply, ()) = tokio::join!(request, send_signal);
        reply.expect::<Value>(201);
        let status = stack.auth.wait_exit(Duration::from_secs(30));
        assert_eq!(status.and_then(|s| s.code()), Some(0), "{signal}");
        // The account was really created before the process went away.
        let mut db = stack.auth.db();
        let created = crate::db::count(
            &mut db,
            &format!("SELECT count(*) FROM users WHERE email = '{email}'"),
        );
        assert_eq!(created, 1, "{signal}");
    }
}

#[tokio::test]
async fn logs_are_json_lines_without_passwords_hashes_or_tokens() {
    let stack = TestStack::start().await;
    let email = new_email();
    let password = "a very distinctive password 42";
    stack.signup(&email, password).await.expect::<Value>(201);
    stack
        .login(&email, "another distinctive password")
        .await
        .expect_error(400, ErrorCode::InvalidGrant);
    let tokens: shared::api::TokenResponse = stack.login(&email, password).await.expect(200);
    let next: shared::api::TokenResponse = stack.refresh(&tokens.refresh_token).await.expect(200);
    stack.me(&next.access_token).await.expect::<Value>(200);
    stack
        .me("forged.token.value")
        .await
        .expect_error(401, ErrorCode::InvalidToken);
    stack.logout(&next.refresh_token).await;
    let hash = crate::db::password_hash(&mut stack.auth.db(), &email);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs: Vec<String> = stack
        .auth
        .logs()
        .into_iter()
        .chain(stack.profile.logs())
        .collect();
    assert!(logs.len() > 10, "too few log lines: {logs:?}");
    let secrets = [
        password,
        "another distinctive password",
        &hash,
        &tokens.access_token,
        &tokens.refresh_token,
        &next.access_token,
        &next.refresh_token,
        &stack.access_secret,
        &stack.refresh_secret,
        "forged.token.value",
    ];
    for line in &logs {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "not JSON: {line}"
        );
        for secret in secrets {
            assert!(!line.contains(secret), "a secret is logged: {line}");
        }
    }
    let requests = logs
        .iter()
        .filter(|l| l.contains("\"message\":\"request\""))
        .count();
    assert!(
        requests >= 6,
        "one line per request expected, saw {requests}"
    );
    assert!(
        logs.iter().any(|l| l.contains("\"session\"")),
        "requests are tied to sessions"
    );
}
