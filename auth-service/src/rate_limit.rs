//! Per-client request limits on the credential endpoints, and who the
//! client is: the peer address, or behind a trusted proxy the right-most
//! `X-Forwarded-For` entry that is not itself a trusted proxy.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::AuthError;

/// A GCRA limiter keyed by client IP (`RATE_LIMIT_PER_MINUTE`, with a
/// burst as large), or nothing when the limit is 0.
pub struct RateLimit {
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    trusted_proxies: Vec<IpAddr>,
}

impl RateLimit {
    pub fn new(per_minute: u32, trusted_proxies: Vec<IpAddr>) -> Self {
        let limiter = NonZeroU32::new(per_minute)
            .map(|n| RateLimiter::keyed(Quota::per_minute(n).allow_burst(n)));
        Self {
            limiter,
            trusted_proxies,
        }
    }

    /// Counts one request from `client`; `Err` says how long to wait.
    pub fn check(&self, client: ClientIp) -> Result<(), AuthError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check_key(&client.0).map_err(|not_until| {
            AuthError::RateLimited(not_until.wait_time_from(DefaultClock::default().now()))
        })
    }

    /// Forgets clients that have been quiet for a while, so the table does
    /// not grow with every address ever seen.
    pub fn forget_quiet_clients(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// How often [`RateLimit::forget_quiet_clients`] should run.
    pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

    fn client_of(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        if !self.trusted_proxies.contains(&peer) {
            return Some(peer);
        }
        let forwarded: Vec<IpAddr> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map_while(|item| item.trim().parse().ok())
            .collect();
        forwarded
            .iter()
            .rev()
            .find(|ip| !self.trusted_proxies.contains(ip))
            .or(forwarded.first())
            .copied()
            .or(Some(peer))
    }
}

/// The client a request comes from, as [`RateLimit`] resolves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequest for ClientIp {
    type Error = AuthError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ip = req
            .app_data::<web::Data<crate::state::AppState>>()
            .and_then(|state| state.rate_limit.client_of(req))
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        std::future::ready(Ok(Self(ip)))
    }
}
