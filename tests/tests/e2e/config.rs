//! Start-up configuration: a bad environment stops the process with one
//! line naming every bad variable and exit code 2; `.env` is read first.

use crate::support::stack::{Exit, TestStack};

/// The one ERROR line of `exit`, which must be exit code 2.
#[track_caller]
fn the_error_line(exit: &Exit, case: &str) -> String {
    assert_eq!(exit.code, Some(2), "{case}: {:?}", exit.lines);
    let errors: Vec<&String> = exit
        .lines
        .iter()
        .filter(|l| l.contains("\"ERROR\""))
        .collect();
    assert_eq!(errors.len(), 1, "{case}: one line: {:?}", exit.lines);
    errors[0].clone()
}

#[test]
fn bad_configuration_exits_2_with_one_line_naming_each_variable() {
    let secret = shared::keys::random_secret();
    let other = shared::keys::random_secret();
    let unset = [("DATABASE_URL", ""), ("JWT_SECRET_KEY", "")];
    let signing = |kid: &str, k: &str| {
        use base64::Engine;
        let k = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k);
        format!(
            r#"{{"keys": [{{"kty": "oct", "kid": "{kid}", "k": "{k}", "key_ops": ["sign"]}}]}}"#
        )
    };
    let (refresh_set_of_access, access_set) = (signing("r1", &secret), signing("a1", &secret));
    let (access_set_of_refresh, nameless) = (signing("a1", &other), signing("", &secret));
    // (binary, variables changed from a valid environment, what the line names)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "auth-service",
            [&unset[..], &[("JWT_REFRESH_SECRET_KEY", "")]].concat(),
            vec!["DATABASE_URL", "JWT_SECRET_KEY", "JWT_REFRESH_SECRET_KEY"],
        ),
        (
            "profile-service",
            unset.to_vec(),
            vec!["DATABASE_URL", "JWT_SECRET_KEY"],
        ),
        (
            "auth-service",
            vec![("JWT_SECRET_KEY", "short")],
            vec!["JWT_SECRET_KEY"],
        ),
        (
            "auth-service",
            vec![
                ("JWT_SECRET_KEY", &secret),
                ("JWT_REFRESH_SECRET_KEY", &secret),
            ],
            vec!["must differ"],
        ),
        (
            "auth-service",
            vec![
                ("JWT_SECRET_KEY", &secret),
                ("JWT_REFRESH_KEYS", &refresh_set_of_access),
            ],
            vec!["must differ"],
        ),
        (
            "auth-service",
            vec![
                ("JWT_KEYS", &access_set),
                ("JWT_REFRESH_KEYS", &refresh_set_of_access),
            ],
            vec!["must differ"],
        ),
        (
            "auth-service",
            vec![
                ("JWT_KEYS", &access_set_of_refresh),
                ("JWT_REFRESH_SECRET_KEY", &other),
            ],
            vec!["must differ"],
        ),
        (
            "profile-service",
            vec![("JWT_KEYS", &nameless)],
            vec!["JWT_KEYS", "empty kid"],
        ),
        (
            "auth-service",
            vec![
                ("BIND_ADDR", "127.0.0.1:18001"),
                ("METRICS_BIND_ADDR", "127.0.0.1:18001"),
            ],
            vec!["METRICS_BIND_ADDR", "BIND_ADDR"],
        ),
        (
            "auth-service",
            vec![
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
            vec![("BIND_ADDR", "everywhere")],
            vec!["BIND_ADDR"],
        ),
    ];
    for (bin, changes, named) in cases {
        let case = format!("{bin} {changes:?}");
        let builder = changes
            .iter()
            .fold(TestStack::builder(), |builder, (name, value)| {
                if bin == "auth-service" {
                    builder.auth_env(name, value)
                } else {
                    builder.profile_env(name, value)
                }
            });
        let exit = builder.run_to_exit(bin, &std::env::temp_dir());
        let line = the_error_line(&exit, &case);
        for name in named {
            assert!(line.contains(name), "{case}: {name} not named in {line}");
        }
        assert!(
            !line.contains(&secret) && !line.contains(&other),
            "a secret was printed"
        );
        assert!(!line.contains("Address already in use"), "{case}: {line}");
    }
}

#[test]
fn log_settings_in_dot_env_shape_the_very_first_line() {
    // Run in a folder whose .env asks for human-readable logs; the harness
    // itself sets no LOG_FORMAT here, so only .env can make the line pretty.
    let dir = std::env::temp_dir().join(format!("dotenv-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("a temp folder");
    std::fs::write(dir.join(".env"), "LOG_FORMAT=pretty\nBCRYPT_COST=3\n").expect(".env");
    for bin in ["auth-service", "profile-service"] {
        let exit = TestStack::builder()
            .auth_env("LOG_FORMAT", "")
            .auth_env("BCRYPT_COST", "")
            .profile_env("LOG_FORMAT", "")
            .profile_env("JWT_LEEWAY_SECONDS", "-1")
            .run_to_exit(bin, &dir);
        assert_eq!(exit.code, Some(2), "{bin}: {:?}", exit.lines);
        let line = exit
            .lines
            .iter()
            .find(|l| l.contains("invalid configuration"))
            .unwrap_or_else(|| panic!("{bin}: no error line in {:?}", exit.lines));
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_err(),
            "{bin}: .env asked for pretty logs, got {line}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
