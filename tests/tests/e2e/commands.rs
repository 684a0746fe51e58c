//! The binaries' subcommands: `healthcheck` (container health checks
//! without curl) and `auth-service generate-secrets DIR`.

use std::process::Command;

use crate::support::service::binary;
use crate::support::stack::TestStack;

fn run(bin: &str, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = Command::new(binary(bin))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_exits_0_while_ready_and_1_when_not() {
    let mut stack = TestStack::builder().own_server().start().await;
    for (bin, base) in [
        ("auth-service", &stack.auth.base_url),
        ("profile-service", &stack.profile.base_url),
    ] {
        let bind = base.trim_start_matches("http://").to_owned();
        let (code, text) = run(bin, &["healthcheck"], &[("BIND_ADDR", &bind)]);
        assert_eq!(code, Some(0), "{bin}: {text}");
    }
    stack.stop_database().await;
    let bind = stack.auth.base_url.trim_start_matches("http://").to_owned();
    let (code, text) = run("auth-service", &["healthcheck"], &[("BIND_ADDR", &bind)]);
    assert_eq!(code, Some(1), "database down: {text}");
    let (code, _) = run(
        "profile-service",
        &["healthcheck"],
        &[("BIND_ADDR", "127.0.0.1:1")],
    );
    assert_eq!(code, Some(1), "nothing listening");
    let (code, _) = run("profile-service", &["--nope"], &[]);
    assert_eq!(code, Some(2));
}

#[test]
fn generate_secrets_writes_once_never_overwrites_and_lets_the_operator_win() {
    let dir = std::env::temp_dir().join(format!("gen-{}", uuid::Uuid::new_v4().simple()));
    let dir_arg = dir.display().to_string();
    let (code, text) = run("auth-service", &["generate-secrets", &dir_arg], &[]);
    assert_eq!(code, Some(0), "{text}");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let generated = read("jwt_secret_key");
    assert!(!text.contains(&generated), "a secret was printed");
    let (_, again) = run("auth-service", &["generate-secrets", &dir_arg], &[]);
    assert!(again.contains("jwt_secret_key: kept"), "{again}");
    assert_eq!(read("jwt_secret_key"), generated);
    let own = shared::keys::random_secret();
    let (_, mine) = run(
        "auth-service",
        &["generate-secrets", &dir_arg],
        &[("JWT_SECRET_KEY", &own)],
    );
    assert!(mine.contains("set from the environment"), "{mine}");
    assert_eq!(read("jwt_secret_key"), own);
    assert!(read("profile_database_url").starts_with("postgres://postgres:"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_operators_database_password_is_encoded_and_never_silently_replaced() {
    let dir = std::env::temp_dir().join(format!("gen-{}", uuid::Uuid::new_v4().simple()));
    let dir_arg = dir.display().to_string();
    let password = [("POSTGRES_PASSWORD", "p@ss/w:rd?%")];
    let (code, text) = run("auth-service", &["generate-secrets", &dir_arg], &password);
    assert_eq!(code, Some(0), "{text}");
    let url = std::fs::read_to_string(dir.join("auth_database_url")).unwrap();
    assert_eq!(
        url,
        "postgres://postgres:p%40ss%2Fw%3Ard%3F%25@db:5432/auth"
    );
    // PostgreSQL keeps the password it was created with: no silent change.
    let other = [("POSTGRES_PASSWORD", "another password")];
    let (code, text) = run("auth-service", &["generate-secrets", &dir_arg], &other);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("ALTER USER") && !text.contains("another password"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("auth_database_url")).unwrap(),
        url
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn generate_secrets_print_gives_one_line_per_secret_for_docker_secret_create() {
    let password = [("POSTGRES_PASSWORD", "p@ss word")];
    let (code, text) = run(
        "auth-service",
        &["generate-secrets", "--keys", "es256", "--print"],
        &password,
    );
    assert_eq!(code, Some(0), "{text}");
    let lines: Vec<(&str, &str)> = text
        .lines()
        .map(|line| line.split_once(' ').unwrap())
        .collect();
    let value = |name: &str| {
        lines
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("no {name} in {} lines", lines.len()))
    };
    assert_eq!(lines.len(), 9, "one line per secret");
    assert_eq!(value("postgres_password"), "p@ss word");
    assert_eq!(
        value("profile_database_url"),
        "postgres://postgres:p%40ss%20word@db:5432/profile"
    );
    assert!(value("event_secret").starts_with("whsec_"));
    assert!(value("jwt_keys").contains("\"d\""));
    assert!(!value("jwt_public_keys").contains("\"d\""));
    // Nothing was written: --print takes no directory.
    let (code, text) = run(
        "auth-service",
        &["generate-secrets", "--print", "/tmp/never"],
        &[],
    );
    assert_eq!(code, Some(2), "{text}");
    assert!(!std::path::Path::new("/tmp/never").exists());
    let (code, text) = run("auth-service", &["generate-secrets", "--bogus"], &[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("unknown flag --bogus"), "{text}");
    // Never into a terminal (util-linux's `script` gives it one): the
    // secrets would stay in its scrollback.
    let command = format!(
        "{} generate-secrets --print",
        binary("auth-service").display()
    );
    let (code, text) = run_in_terminal(&command);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("not a terminal") && !text.contains("postgres_password "),
        "{text}"
    );
}

/// `command` with a pseudo-terminal as its stdout, by util-linux's
/// `script`; its exit code and what it wrote there.
fn run_in_terminal(command: &str) -> (Option<i32>, String) {
    let output = Command::new("script")
        .args(["-qec", command, "/dev/null"])
        .output()
        .expect("util-linux's script");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}
