//! Reading configuration from the environment: every problem is gathered,
//! so a start-up failure names all bad variables in one line, and secrets
//! are held in [`SecretString`], whose `Debug` prints `[REDACTED]`.

use std::collections::HashMap;
use std::fmt::Display;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use shared::keys::{KeySet, KeySetError, MIN_SECRET_BYTES, Purpose};
use shared::token::TokenSettings;

/// Loads `.env` from the working directory (or a parent) into the process
/// environment; variables already set win. A missing file is the normal
/// case in production.
pub fn load_dotenv() {
    let _ = dotenvy::dotenv();
}

/// Everything wrong with the environment, in one line.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {}", .0.join("; "))]
pub struct ConfigError(pub Vec<String>);

/// Reads variables and collects what is wrong with them.
#[derive(Default)]
pub struct EnvReader {
    problems: Vec<String>,
    /// Values that win over the environment (the dev stack's own).
    overrides: HashMap<String, String>,
    /// The variables to read instead of the process environment (see
    /// [`EnvReader::from_pairs`]); `None` reads the process environment.
    variables: Option<HashMap<String, String>>,
}

impl EnvReader {
    /// A reader over the process environment, after loading `.env` if there
    /// is one (variables already set win over the file).
    pub fn new() -> Self {
        load_dotenv();
        Self::default()
    }

    /// Like [`EnvReader::new`], but `overrides` win over the environment.
    pub fn with_overrides(overrides: HashMap<String, String>) -> Self {
        Self {
            overrides,
            ..Self::new()
        }
    }

    /// A reader that sees only `pairs`, as if they were the whole
    /// environment (no process environment, no `.env`): the same rules
    /// over values from elsewhere, for tests and the fuzzer.
    pub fn from_pairs<N, V>(pairs: impl IntoIterator<Item = (N, V)>) -> Self
    where
        N: Into<String>,
        V: Into<String>,
    {
        let variables = pairs
            .into_iter()
            .map(|(name, value)| (name.into(), value.into()))
            .collect();
        Self {
            variables: Some(variables),
            ..Self::default()
        }
    }

    /// `name` from the variables, as `std::env::var` answers.
    fn var(&self, name: &str) -> Result<String, std::env::VarError> {
        match &self.variables {
            Some(variables) => variables
                .get(name)
                .cloned()
                .ok_or(std::env::VarError::NotPresent),
            None => std::env::var(name),
        }
    }

    /// Records a problem that is not about a single variable's syntax.
    pub fn problem(&mut self, problem: impl Into<String>) {
        self.problems.push(problem.into());
    }

    fn raw(&mut self, name: &str) -> Option<String> {
        if let Some(value) = self.overrides.get(name) {
            return Some(value.clone());
        }
        match self.var(name) {
            Ok(value) if value.trim().is_empty() => None,
            Ok(value) => Some(value),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(_)) => {
                self.problem(format!("{name} is not valid UTF-8"));
                None
            }
        }
    }

    /// Whether `name` is set, but to nothing (which turns some things off).
    pub fn is_set_empty(&self, name: &str) -> bool {
        match self.overrides.get(name) {
            Some(value) => value.trim().is_empty(),
            None => self.var(name).is_ok_and(|value| value.trim().is_empty()),
        }
    }

    /// A secret given as `name` or, Docker-style, as a file named by
    /// `name_FILE` (one trailing newline dropped); both at once is a
    /// problem. Never echoes the value.
    pub fn secret_or_file(&mut self, name: &str) -> Option<SecretString> {
        let file_name = format!("{name}_FILE");
        let direct = self.raw(name);
        let path = self.raw(&file_name);
        match (direct, path) {
            (Some(_), Some(_)) => {
                self.problem(format!("give {name} or {file_name}, not both"));
                None
            }
            (Some(value), None) => Some(SecretString::from(value)),
            (None, Some(path)) => match std::fs::read_to_string(path.trim()) {
                Ok(contents) => {
                    let value = contents.strip_suffix('\n').unwrap_or(&contents);
                    let value = value.strip_suffix('\r').unwrap_or(value);
                    if value.trim().is_empty() {
                        self.problem(format!("{file_name}={path:?} names an empty file"));
                        return None;
                    }
                    Some(SecretString::from(value.to_owned()))
                }
                Err(error) => {
                    self.problem(format!("{file_name}={path:?} cannot be read: {error}"));
                    None
                }
            },
            (None, None) => None,
        }
    }

    /// A secret (or its `_FILE`) that must be given.
    pub fn required_secret(&mut self, name: &str) -> Option<SecretString> {
        let value = self.secret_or_file(name);
        if value.is_none() && !self.names_problem(name) {
            self.problem(format!("{name} is required but not set"));
        }
        value
    }

    /// An optional signing secret (or its `_FILE`) of at least
    /// [`MIN_SECRET_BYTES`] bytes.
    pub fn signing_secret(&mut self, name: &str) -> Option<SecretString> {
        let value = self.secret_or_file(name)?;
        let len = value.expose_secret().len();
        if len < MIN_SECRET_BYTES {
            self.problem(format!(
                "{name} must be at least {MIN_SECRET_BYTES} bytes long (it has {len})"
            ));
            return None;
        }
        Some(value)
    }

    /// The keys of one kind of token: the JWK Set in `set_name` (or its
    /// `_FILE`) and/or the single secret in `secret_name`; one of them is
    /// required. The set must meet the rules of `purpose`.
    pub fn key_set(
        &mut self,
        set_name: &str,
        secret_name: &str,
        purpose: Purpose,
    ) -> Option<KeySet> {
        let set = self.secret_or_file(set_name);
        let secret = self.signing_secret(secret_name);
        if self.names_problem(set_name) || self.names_problem(secret_name) {
            return None;
        }
        match KeySet::for_purpose(set.as_ref(), secret.as_ref(), purpose) {
            Ok(keys) => Some(keys),
            Err(KeySetError::Empty) => {
                self.problem(format!(
                    "{secret_name} is required but not set (or set {set_name})"
                ));
                None
            }
            Err(error) => {
                self.problem(format!("{set_name} {error}"));
                None
            }
        }
    }

    /// Whether a problem naming `name` was recorded.
    pub fn names_problem(&self, name: &str) -> bool {
        self.problems.iter().any(|p| p.contains(name))
    }

    /// A parsed value, or `default` when the variable is not set.
    pub fn parse_or<T>(&mut self, name: &str, default: T) -> T
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.raw(name) {
            None => default,
            Some(value) => match value.trim().parse() {
                Ok(parsed) => parsed,
                Err(error) => {
                    self.problem(format!("{name}={value:?} is invalid: {error}"));
                    default
                }
            },
        }
    }

    /// A whole number in `min..=max`, or `default` when not set.
    pub fn number_in(&mut self, name: &str, default: u64, min: u64, max: u64) -> u64 {
        let value = self.parse_or(name, default);
        if !(min..=max).contains(&value) {
            self.problem(format!(
                "{name}={value} is out of range: use {min} to {max}"
            ));
            return default;
        }
        value
    }

    /// A comma-separated list; empty when not set.
    pub fn list(&mut self, name: &str) -> Vec<String> {
        self.raw(name)
            .map(|value| {
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `Ok(())` when every variable read was fine.
    pub fn finish(self) -> Result<(), ConfigError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError(self.problems))
        }
    }
}

/// The settings both services read the same way.
#[derive(Debug, Clone)]
pub struct CommonConfig {
    /// `DATABASE_URL`: may hold a password, hence secret.
    pub database_url: SecretString,
    /// `JWT_KEYS` and/or `JWT_SECRET_KEY`: sign (auth) and verify (both)
    /// access tokens. Read with [`Purpose::VerifyAccess`].
    pub access_keys: KeySet,
    /// `JWT_ISSUER`, `JWT_AUDIENCE`, `JWT_LEEWAY_SECONDS`.
    pub tokens: TokenSettings,
    /// `DB_CONNECT_TIMEOUT_SECONDS`.
    pub db_connect_timeout: Duration,
    /// `DB_POOL_MAX_SIZE`.
    pub db_pool_max_size: u32,
    /// `BIND_ADDR`.
    pub bind_addr: SocketAddr,
    /// `METRICS_BIND_ADDR`; `None` (set empty) turns the listener off.
    pub metrics_bind_addr: Option<SocketAddr>,
    /// `CORS_ALLOWED_ORIGINS`.
    pub cors_allowed_origins: Vec<String>,
}

impl CommonConfig {
    /// Reads the shared variables; the default addresses differ per
    /// service. Returns `None` when a required one is missing (the reader
    /// has the reason).
    pub fn read(
        env: &mut EnvReader,
        default_bind: SocketAddr,
        default_metrics: SocketAddr,
    ) -> Option<Self> {
        let database_url = env.required_secret("DATABASE_URL");
        // Read for verifying: a verifier's set needs no signer; the auth
        // service asks for one ([`KeySet::require_signer`]).
        let access_keys = env.key_set("JWT_KEYS", "JWT_SECRET_KEY", Purpose::VerifyAccess);
        let issuer = env.parse_or("JWT_ISSUER", "auth-service".to_owned());
        let audience = env.parse_or("JWT_AUDIENCE", "profile-service".to_owned());
        let leeway_seconds = env.number_in("JWT_LEEWAY_SECONDS", 30, 0, 3600);
        let db_connect_timeout = env.number_in("DB_CONNECT_TIMEOUT_SECONDS", 3, 1, 300);
        let db_pool_max_size = env.number_in("DB_POOL_MAX_SIZE", 16, 1, 1000);
        let bind_addr = env.parse_or("BIND_ADDR", default_bind);
        let metrics_bind_addr = if env.is_set_empty("METRICS_BIND_ADDR") {
            None
        } else {
            Some(env.parse_or("METRICS_BIND_ADDR", default_metrics))
        };
        if let Some(metrics) = metrics_bind_addr
            && overlap(bind_addr, metrics)
        {
            env.problem(format!(
                "METRICS_BIND_ADDR={metrics} takes the port of BIND_ADDR={bind_addr}: the metrics listener needs a port of its own"
            ));
        }
        let cors_allowed_origins = env.list("CORS_ALLOWED_ORIGINS");
        for origin in &cors_allowed_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) {
                env.problem(format!(
                    "CORS_ALLOWED_ORIGINS has {origin:?}: an origin is scheme://host[:port]"
                ));
            }
        }
        // Checked here so a bad value is reported with the rest; the logger
        // reads it once, before the config ([`LogFormat::from_env_or_detect`]).
        env.parse_or("LOG_FORMAT", LogFormat::Json);
        Some(Self {
            database_url: database_url?,
            access_keys: access_keys?,
            tokens: TokenSettings {
                issuer,
                audience,
                leeway_seconds,
            },
            db_connect_timeout: Duration::from_secs(db_connect_timeout),
            db_pool_max_size: u32::try_from(db_pool_max_size).unwrap_or(16),
            bind_addr,
            metrics_bind_addr,
            cors_allowed_origins,
        })
    }
}

/// Whether listeners on `a` and `b` would want the same port: the same
/// non-zero port on the same address, or on any address when one of them
/// is bound to all of them (`0.0.0.0`, `::`). Port 0 is the kernel's pick,
/// a different port each time.
pub fn overlap(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() != 0
        && a.port() == b.port()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

/// `LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Coloured, multi-field lines for people.
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

impl LogFormat {
    /// `pretty` on a terminal, `json` otherwise.
    pub fn detect() -> Self {
        if std::io::stdout().is_terminal() {
            Self::Pretty
        } else {
            Self::Json
        }
    }

    /// `LOG_FORMAT` if it is valid, else [`LogFormat::detect`]; the config
    /// reports an invalid value later, through the logger this picks.
    pub fn from_env_or_detect() -> Self {
        std::env::var("LOG_FORMAT")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(Self::detect)
    }
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_lowercase().as_str() {
            "pretty" => Ok(Self::Pretty),
            "json" => Ok(Self::Json),
            _ => Err("use pretty or json".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_reader_from_pairs_sees_only_its_pairs() {
        let mut env = EnvReader::from_pairs([("JWT_LEEWAY_SECONDS", " 45 "), ("LOG_FORMAT", " ")]);
        assert_eq!(env.number_in("JWT_LEEWAY_SECONDS", 30, 0, 3600), 45);
        assert!(env.is_set_empty("LOG_FORMAT"));
        assert_eq!(env.parse_or("PATH", "unset".to_owned()), "unset");
        assert!(env.finish().is_ok());
    }

    #[test]
    fn a_bad_key_set_is_still_one_line() {
        let set = r#"{"keys": [{"kty": "oct", "kid": "a\nb", "k": "!!", "key_ops": ["sign"]}]}"#;
        let mut env = EnvReader::from_pairs([("JWT_KEYS", set)]);
        assert!(
            env.key_set("JWT_KEYS", "JWT_SECRET_KEY", Purpose::VerifyAccess)
                .is_none()
        );
        let line = env.finish().err().map(|error| error.to_string());
        assert!(
            line.as_deref().is_some_and(|line| !line.contains('\n')),
            "{line:?}"
        );
    }

    #[test]
    fn a_metrics_listener_on_the_service_port_is_a_config_error() {
        let read = |bind: &str, metrics: &str| {
            let mut env =
                EnvReader::from_pairs([("BIND_ADDR", bind), ("METRICS_BIND_ADDR", metrics)]);
            let default = SocketAddr::from(([127, 0, 0, 1], 9101));
            CommonConfig::read(&mut env, default, default);
            env.problems
                .iter()
                .any(|problem| problem.starts_with("METRICS_BIND_ADDR="))
        };
        assert!(read("127.0.0.1:8001", "127.0.0.1:8001"));
        assert!(read("0.0.0.0:8001", "127.0.0.1:8001"));
        assert!(read("127.0.0.1:8001", "[::]:8001"));
        assert!(!read("127.0.0.1:8001", "127.0.0.1:9101"));
        assert!(!read("127.0.0.1:8001", "127.0.0.2:8001"));
        assert!(
            !read("127.0.0.1:0", "127.0.0.1:0"),
            "port 0 is a fresh port each time"
        );
    }

    #[test]
    fn config_error_is_one_line_naming_every_variable() {
        let error = ConfigError(vec![
            "DATABASE_URL is required but not set".into(),
            "JWT_SECRET_KEY must be at least 32 bytes long (it has 5)".into(),
        ]);
        let line = error.to_string();
        assert!(!line.contains('\n'));
        assert!(line.contains("DATABASE_URL") && line.contains("JWT_SECRET_KEY"));
    }

    /// The variables `CommonConfig::read` looks at (not the `_FILE` ones,
    /// which name files to read).
    const VARIABLES: [&str; 12] = [
        "DATABASE_URL",
        "JWT_KEYS",
        "JWT_SECRET_KEY",
        "JWT_ISSUER",
        "JWT_AUDIENCE",
        "JWT_LEEWAY_SECONDS",
        "DB_CONNECT_TIMEOUT_SECONDS",
        "DB_POOL_MAX_SIZE",
        "BIND_ADDR",
        "METRICS_BIND_ADDR",
        "CORS_ALLOWED_ORIGINS",
        "LOG_FORMAT",
    ];

    fn config_value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[ ]?-?[0-9]{0,22}[ ]?",
            "(\\[::1\\]|127\\.0\\.0\\.1|0\\.0\\.0\\.0|localhost)?:?[0-9]{0,6}",
            "(https?://[a-z.]{0,10}|[a-z]{0,4})(, ?(https?://[a-z.]{0,10}|[a-z]{0,4})){0,3}",
            "[a-zA-Z0-9]{28,40}",
            r#"\{"keys": ?\[(\{"kty": ?"oct", ?"k": ?"[A-Za-z0-9_-]{0,50}"(, ?"kid": ?".{0,4}")?\},?){0,3}\]\}"#,
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// A config error is one line, and no value makes reading panic.
        #[test]
        fn no_config_value_makes_reading_panic(
            values in prop::collection::vec((prop::sample::select(&VARIABLES[..]), config_value()), 0..12),
        ) {
            let mut env = EnvReader::from_pairs(values);
            let bind = SocketAddr::from(([0, 0, 0, 0], 8001));
            let metrics = SocketAddr::from(([127, 0, 0, 1], 9101));
            let config = CommonConfig::read(&mut env, bind, metrics);
            let _ = env.list("TRUSTED_PROXIES");
            if let Err(error) = env.finish() {
                prop_assert!(!error.to_string().contains('\n'), "{error}");
            } else {
                prop_assert!(config.is_some());
            }
        }
    }
}
