//! The auth service's configuration, parsed once from the environment.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use service_kit::config::{CommonConfig, ConfigError, EnvReader};
use shared::keys::KeySet;
use shared::keys::same_secret;

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
}

const DEFAULT_METRICS: SocketAddr =
    SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9101);
pub const DEFAULT_BIND: SocketAddr =
    SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 8001);
const MINUTE: u64 = 60;

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
        let refresh = env.key_set("JWT_REFRESH_KEYS", "JWT_REFRESH_SECRET_KEY");
        if let (Some(common), Some((refresh_keys, refresh_secret))) = (&common, &refresh) {
            if let (Some(access), Some(refresh)) = (&common.jwt_secret, refresh_secret)
                && same_secret(access, refresh)
            {
                env.problem("JWT_REFRESH_SECRET_KEY must differ from JWT_SECRET_KEY");
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
        env.finish()?;
        match (common, refresh) {
            (Some(common), Some((refresh_keys, _))) => Ok(Self {
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
            }),
            // A missing required value was recorded above, so finish() failed.
            _ => Err(ConfigError(vec![
                "required configuration is missing".into(),
            ])),
        }
    }
}
