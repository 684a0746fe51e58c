//! The profile service's configuration, parsed once from the environment.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use std::sync::Arc;

use service_kit::config::{CommonConfig, ConfigError, EnvReader};
use shared::events::EventSecret;

/// Everything the profile service reads from the environment. It never
/// sees `JWT_REFRESH_SECRET_KEY`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The variables both services share.
    pub common: CommonConfig,
    /// `AUTH_TOKEN_URL`: the tokenUrl the OpenAPI document names.
    pub auth_token_url: String,
    /// `PROFILE_CACHE_SIZE` / `PROFILE_CACHE_TTL_SECONDS`.
    pub cache: CacheConfig,
    /// `EVENT_SECRET` (or `EVENT_SECRET_FILE`); without it the service
    /// takes no events (revocation then waits for `exp`).
    pub event_secret: Option<Arc<EventSecret>>,
    /// `INTERNAL_BIND_ADDR`: where `POST /events` is served.
    pub internal_bind_addr: SocketAddr,
}

/// The in-process profile cache (see `cache.rs`).
#[derive(Debug, Clone, Copy)]
pub struct CacheConfig {
    /// At most this many profiles; 0 turns the cache (and its listener) off.
    pub size: u64,
    /// How long an entry lives at most. Writes evict entries at once on
    /// every replica; the TTL only bounds what a missed notification costs.
    pub ttl: Duration,
}

const DEFAULT_METRICS: SocketAddr =
    SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9102);
pub const DEFAULT_BIND: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 8002);
pub const DEFAULT_INTERNAL: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9202);

impl Config {
    /// Reads and checks every variable; the error names each bad one.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(EnvReader::new())
    }

    /// Reads and checks every variable through `env`.
    pub fn read(mut env: EnvReader) -> Result<Self, ConfigError> {
        let common = CommonConfig::read(&mut env, DEFAULT_BIND, DEFAULT_METRICS);
        let auth_token_url =
            env.parse_or("AUTH_TOKEN_URL", "http://localhost:8001/login".to_owned());
        if !(auth_token_url.starts_with("http://") || auth_token_url.starts_with("https://")) {
            env.problem(format!(
                "AUTH_TOKEN_URL={auth_token_url:?} must be an http(s) URL"
            ));
        }
        let cache = CacheConfig {
            size: env.number_in("PROFILE_CACHE_SIZE", 10_000, 0, 10_000_000),
            ttl: Duration::from_secs(env.number_in("PROFILE_CACHE_TTL_SECONDS", 300, 1, 86_400)),
        };
        let event_secret = env.secret_or_file("EVENT_SECRET").and_then(|secret| {
            match EventSecret::parse(&secret) {
                Ok(secret) => Some(Arc::new(secret)),
                Err(problem) => {
                    env.problem(format!("EVENT_SECRET {problem}"));
                    None
                }
            }
        });
        let internal_bind_addr = env.parse_or("INTERNAL_BIND_ADDR", DEFAULT_INTERNAL);
        if let Some(common) = &common
            && (internal_bind_addr == common.bind_addr
                || Some(internal_bind_addr) == common.metrics_bind_addr)
            && internal_bind_addr.port() != 0
        {
            env.problem(format!(
                "INTERNAL_BIND_ADDR={internal_bind_addr} takes the port of BIND_ADDR or METRICS_BIND_ADDR: the events listener needs a port of its own"
            ));
        }
        env.finish()?;
        match common {
            Some(common) => Ok(Self {
                common,
                auth_token_url,
                cache,
                event_secret,
                internal_bind_addr,
            }),
            None => Err(ConfigError(vec![
                "required configuration is missing".into(),
            ])),
        }
    }
}
