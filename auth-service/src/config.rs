//! The auth service's configuration, parsed once from the environment.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use service_kit::config::{CommonConfig, ConfigError, EnvReader};
use shared::keys::{KeySet, Purpose};

use crate::events::EventSettings;
use crate::mail::config::MailSettings;

/// Everything the auth service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// The variables both services share.
    pub common: CommonConfig,
    /// `JWT_REFRESH_KEYS` and/or `JWT_REFRESH_SECRET_KEY`.
    pub refresh_keys: KeySet,
    /// `ACCESS_TOKEN_EXPIRE_MINUTES`.
    pub access_ttl: Duration,
    /// `REFRESH_TOKEN_EXPIRE_MINUTES`.
    pub refresh_ttl: Duration,
    /// `BCRYPT_COST`.
    pub bcrypt_cost: u32,
    /// `REFRESH_REUSE_GRACE_SECONDS`.
    pub reuse_grace: Duration,
    /// `RATE_LIMIT_PER_MINUTE`; 0 turns the limit off.
    pub rate_limit_per_minute: u32,
    /// `TRUSTED_PROXIES`.
    pub trusted_proxies: Vec<IpAddr>,
    /// `LOGIN_FAILURE_LIMIT`; 0 turns the back-off off.
    pub login_failure_limit: u32,
    /// `LOGIN_FAILURE_ACCOUNT_LIMIT`; 0 turns the account ceiling off.
    pub login_failure_account_limit: u32,
    /// `HASH_CONCURRENCY`: password hashes running at once.
    pub hash_concurrency: usize,
    /// `HASH_QUEUE_MAX`: requests waiting for a hashing slot.
    pub hash_queue_max: usize,
    /// `HASH_QUEUE_TIMEOUT_MS`: the longest wait for a slot.
    pub hash_queue_timeout: Duration,
    /// `SMTP_URL`, `EMAIL_VERIFICATION` and the other mail variables.
    pub mail: MailSettings,
    /// `EVENT_ENDPOINTS` and `EVENT_SECRET`.
    pub events: EventSettings,
    /// `AUTH_PUBLIC_URL`: where clients reach this service, for the
    /// absolute URLs of its RFC 8414 metadata.
    pub public_url: String,
    /// `MFA_ENCRYPTION_KEY`: keys the stored TOTP secrets and recovery
    /// codes; `None` turns enrolment off.
    pub mfa_key: Option<SecretString>,
    /// `APP_NAME`: the issuer an authenticator app shows.
    pub app_name: String,
}

const DEFAULT_METRICS: SocketAddr =
    SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9101);
pub const DEFAULT_BIND: SocketAddr =
    SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 8001);
const MINUTE: u64 = 60;
/// The shortest `MFA_ENCRYPTION_KEY` (as the JWT secrets).
const MFA_KEY_MIN_BYTES: usize = 32;

fn small(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

impl Config {
    /// Reads and checks every variable; the error names each bad one.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(EnvReader::new())
    }

    /// Reads and checks every variable through `env`.
    pub fn read(mut env: EnvReader) -> Result<Self, ConfigError> {
        let common = CommonConfig::read(&mut env, DEFAULT_BIND, DEFAULT_METRICS);
        let refresh = env.key_set(
            "JWT_REFRESH_KEYS",
            "JWT_REFRESH_SECRET_KEY",
            Purpose::Refresh,
        );
        if let Some(Err(problem)) = common.as_ref().map(|c| c.access_keys.require_signer()) {
            env.problem(format!("JWT_KEYS {problem}"));
        }
        if let (Some(common), Some(refresh_keys)) = (&common, &refresh) {
            // Under any kid, as a set key or the single secret: a key that
            // signs access tokens must not verify refresh tokens.
            if common.access_keys.shares_key_with(refresh_keys) {
                env.problem(
                    "JWT_REFRESH_SECRET_KEY and JWT_REFRESH_KEYS must differ from every key of JWT_SECRET_KEY and JWT_KEYS: a key signs one kind of token only",
                );
            }
            let shared_kids: Vec<&str> = common
                .access_keys
                .kids()
                .filter(|kid| refresh_keys.kids().any(|other| other == *kid))
                .collect();
            if !shared_kids.is_empty() {
                env.problem(format!(
                    "JWT_KEYS and JWT_REFRESH_KEYS share kid {}: a key signs one kind of token only",
                    shared_kids.join(", ")
                ));
            }
        }
        let access_minutes = env.number_in("ACCESS_TOKEN_EXPIRE_MINUTES", 30, 1, 24 * 60);
        let refresh_minutes =
            env.number_in("REFRESH_TOKEN_EXPIRE_MINUTES", 10_080, 1, 365 * 24 * 60);
        let bcrypt_cost = env.number_in("BCRYPT_COST", 12, 4, 31);
        let reuse_grace = env.number_in("REFRESH_REUSE_GRACE_SECONDS", 10, 0, 3600);
        let rate_limit = env.number_in("RATE_LIMIT_PER_MINUTE", 30, 0, 1_000_000);
        let login_failure_limit = env.number_in("LOGIN_FAILURE_LIMIT", 10, 0, 1_000_000);
        let login_failure_account_limit =
            env.number_in("LOGIN_FAILURE_ACCOUNT_LIMIT", 100, 0, 1_000_000);
        let cores = std::thread::available_parallelism().map_or(1, usize::from) as u64;
        let hash_concurrency = env.number_in("HASH_CONCURRENCY", cores, 1, 1024);
        let hash_queue_max = env.number_in("HASH_QUEUE_MAX", 64, 0, 1_000_000);
        let hash_queue_timeout = env.number_in("HASH_QUEUE_TIMEOUT_MS", 2000, 1, 600_000);
        let trusted_proxies = env
            .list("TRUSTED_PROXIES")
            .into_iter()
            .filter_map(|item| match item.parse::<IpAddr>() {
                Ok(ip) => Some(ip.to_canonical()),
                Err(_) => {
                    env.problem(format!(
                        "TRUSTED_PROXIES has {item:?}, which is not an IP address"
                    ));
                    None
                }
            })
            .collect();
        let mail = MailSettings::read(&mut env);
        let events = EventSettings::read(&mut env);
        let issuer = common.as_ref().map(|c| c.tokens.issuer.as_str());
        let public_url = crate::discovery::public_url(&mut env, issuer.unwrap_or_default());
        let mfa_key = env.secret_or_file("MFA_ENCRYPTION_KEY");
        let app_name = env.parse_or("APP_NAME", "Example".to_owned());
        if mfa_key
            .as_ref()
            .is_some_and(|key| key.expose_secret().len() < MFA_KEY_MIN_BYTES)
        {
            env.problem(format!(
                "MFA_ENCRYPTION_KEY must be at least {MFA_KEY_MIN_BYTES} bytes"
            ));
        }
        env.finish()?;
        match (common, refresh) {
            (Some(common), Some(refresh_keys)) => Ok(Self {
                common,
                refresh_keys,
                access_ttl: Duration::from_secs(access_minutes * MINUTE),
                refresh_ttl: Duration::from_secs(refresh_minutes * MINUTE),
                bcrypt_cost: small(bcrypt_cost),
                reuse_grace: Duration::from_secs(reuse_grace),
                rate_limit_per_minute: small(rate_limit),
                trusted_proxies,
                login_failure_limit: small(login_failure_limit),
                login_failure_account_limit: small(login_failure_account_limit),
                hash_concurrency: usize::try_from(hash_concurrency).unwrap_or(1),
                hash_queue_max: usize::try_from(hash_queue_max).unwrap_or(64),
                hash_queue_timeout: Duration::from_millis(hash_queue_timeout),
                mail,
                events,
                public_url,
                mfa_key,
                app_name,
            }),
            // A missing required value was recorded above, so finish() failed.
            _ => Err(ConfigError(vec![
                "required configuration is missing".into(),
            ])),
        }
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    const ACCESS: &str = "access-secret-access-secret-0001";
    const REFRESH: &str = "refresh-secret-refresh-secret-01";

    /// A JWK Set with one signing key `k` under `kid`.
    fn set(kid: &str, k: &str) -> String {
        let k = URL_SAFE_NO_PAD.encode(k);
        format!(
            r#"{{"keys": [{{"kty": "oct", "kid": "{kid}", "k": "{k}", "key_ops": ["sign"]}}]}}"#
        )
    }

    fn problems(pairs: &[(&str, &str)]) -> Option<String> {
        let base = [("DATABASE_URL", "postgres://localhost/auth")];
        let env = EnvReader::from_pairs(base.iter().chain(pairs).copied());
        Config::read(env).err().map(|error| error.to_string())
    }

    #[test]
    fn key_sets_that_share_a_key_in_any_form_are_a_config_error() {
        let cases: [(&str, Vec<(&str, String)>); 5] = [
            (
                "the same single secret",
                vec![
                    ("JWT_SECRET_KEY", ACCESS.into()),
                    ("JWT_REFRESH_SECRET_KEY", ACCESS.into()),
                ],
            ),
            (
                "the refresh set signs with JWT_SECRET_KEY's bytes",
                vec![
                    ("JWT_SECRET_KEY", ACCESS.into()),
                    ("JWT_REFRESH_KEYS", set("r1", ACCESS)),
                ],
            ),
            (
                "one k under two kids",
                vec![
                    ("JWT_KEYS", set("a1", ACCESS)),
                    ("JWT_REFRESH_KEYS", set("r1", ACCESS)),
                ],
            ),
            (
                "the access signer is JWT_REFRESH_SECRET_KEY",
                vec![
                    ("JWT_KEYS", set("a1", REFRESH)),
                    ("JWT_REFRESH_SECRET_KEY", REFRESH.into()),
                ],
            ),
            (
                "an empty kid",
                vec![
                    ("JWT_KEYS", set("", ACCESS)),
                    ("JWT_REFRESH_SECRET_KEY", REFRESH.into()),
                ],
            ),
        ];
        let mut started = Vec::new();
        for (case, pairs) in cases {
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let Some(line) = problems(&pairs) else {
                started.push(case);
                continue;
            };
            assert!(!line.contains('\n'), "{case}: {line}");
            assert!(
                !line.contains(ACCESS) && !line.contains(REFRESH),
                "{case}: {line}"
            );
        }
        assert!(started.is_empty(), "these started: {started:?}");
        let distinct = [
            ("JWT_KEYS", set("a1", ACCESS)),
            ("JWT_REFRESH_KEYS", set("r1", REFRESH)),
        ];
        let pairs: Vec<(&str, &str)> = distinct.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(problems(&pairs), None, "distinct keys start");
    }

    #[test]
    fn the_auth_service_needs_a_signer_and_signs_refresh_tokens_with_oct_keys() {
        let es = shared::keys::generate_signing_set(shared::keys::SigningKind::Es256);
        let verify_only = format!(
            r#"{{"keys": [{{"kty": "oct", "kid": "a1", "k": "{}"}}]}}"#,
            URL_SAFE_NO_PAD.encode(ACCESS)
        );
        let base = [("JWT_REFRESH_SECRET_KEY", REFRESH.to_owned())];
        let cases = [
            (
                vec![("JWT_KEYS", es.public_set.clone())],
                "JWT_KEYS has 0 keys with key_ops \"sign\"",
            ),
            (
                vec![("JWT_KEYS", verify_only)],
                "JWT_KEYS has 0 keys with key_ops \"sign\"",
            ),
            (
                vec![
                    ("JWT_SECRET_KEY", ACCESS.to_owned()),
                    (
                        "JWT_REFRESH_KEYS",
                        secrecy::ExposeSecret::expose_secret(&es.private_set).to_owned(),
                    ),
                ],
                "refresh tokens never leave the auth service",
            ),
        ];
        for (pairs, expected) in cases {
            let pairs: Vec<(&str, &str)> = base
                .iter()
                .chain(&pairs)
                .map(|(k, v)| (*k, v.as_str()))
                .collect();
            let line = problems(&pairs).unwrap_or_default();
            assert!(line.contains(expected), "{line}");
        }
        let signs = [
            (
                "JWT_KEYS",
                secrecy::ExposeSecret::expose_secret(&es.private_set),
            ),
            ("JWT_REFRESH_SECRET_KEY", REFRESH),
        ];
        assert_eq!(problems(&signs), None, "an ES256 signer starts");
    }
}
