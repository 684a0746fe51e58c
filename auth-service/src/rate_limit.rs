//! The per-client request limit on the credential endpoints
//! (`RATE_LIMIT_PER_MINUTE`, burst as large): a limiter that knows nothing
//! of HTTP, and [`per_client`], the middleware that applies it to a
//! resource.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use service_kit::error::InfraError;

use crate::client_ip::ClientNetwork;
use crate::error::AuthError;

/// A GCRA limiter keyed by client network, or nothing when the limit is 0.
pub struct RateLimit {
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl RateLimit {
    /// `per_minute` requests a minute per client, with a burst as large.
    pub fn new(per_minute: u32) -> Self {
        let limiter = NonZeroU32::new(per_minute)
            .map(|n| RateLimiter::keyed(Quota::per_minute(n).allow_burst(n)));
        Self { limiter }
    }

    /// Counts one request from `client`; `Err` says how long to wait.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
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
}

/// Middleware for a limited resource: resolves the client network (kept
/// in the request for the handler) and answers 429 with `Retry-After`
/// once the client is over its limit.
pub async fn per_client(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let verdict = match (
        ClientNetwork::of(req.request()),
        req.app_data::<web::Data<RateLimit>>(),
    ) {
        (Some(client), Some(limit)) => limit.check(client.0).map_err(AuthError::RateLimited),
        _ => Err(InfraError::internal("rate limit middleware without its app data").into()),
    };
    match verdict {
        Ok(()) => Ok(next.call(req).await?.map_into_left_body()),
        Err(error) => {
            let response = error.error_response();
            Ok(req.into_response(response).map_into_right_body())
        }
    }
}
