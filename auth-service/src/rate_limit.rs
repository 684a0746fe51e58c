//! The per-client request limit on the credential endpoints
//! (`RATE_LIMIT_PER_MINUTE`, burst as large), kept in PostgreSQL so that
//! one, two or three replicas allow a client the same number of requests
//! (`store::rate_limits`), and [`per_client`], the middleware that applies
//! it to a resource.
//!
//! The token endpoint counts in its handler instead
//! ([`RateLimit::check_token_request`]): a password grant takes its turn at
//! the hashing gate first, so a login the full gate sheds is answered 503
//! before any database statement, this limit's included. A shed login
//! checks no password, so it is no attempt to limit, and counting it would
//! turn the server's overload into the client's 429 afterwards.

use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};
use service_kit::db::{DbError, PgPool};
use service_kit::error::InfraError;

use crate::client_ip::ClientNetwork;
use crate::error::AuthError;
use crate::measure::{self, LoginOutcome};
use crate::store::rate_limits;

/// The limit and the database that keeps its counts.
pub struct RateLimit {
    pool: PgPool,
    per_minute: u32,
}

impl RateLimit {
    /// `per_minute` requests a minute per client, burst as large; 0 is off.
    pub fn new(pool: PgPool, per_minute: u32) -> Self {
        Self { pool, per_minute }
    }

    /// Counts one request from `client`; `Err` says how long to wait.
    pub async fn check(&self, client: ClientNetwork) -> Result<(), AuthError> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let interval = 60.0 / f64::from(self.per_minute);
        let burst = i32::try_from(self.per_minute).unwrap_or(i32::MAX);
        let label = client.label();
        let wait = service_kit::db::blocking(&self.pool, move |conn| {
            Ok::<_, AuthError>(rate_limits::take(conn, &label, interval, burst)?)
        })
        .await?;
        match wait {
            None => Ok(()),
            Some(seconds) => Err(AuthError::RateLimited(Duration::from_secs_f64(seconds))),
        }
    }

    /// [`RateLimit::check`] for the token endpoint: a request it refuses
    /// is also a login refused by the limit
    /// (`logins_total{outcome="rate_limited"}`).
    pub async fn check_token_request(&self, client: ClientNetwork) -> Result<(), AuthError> {
        self.check(client).await.inspect_err(|error| {
            if matches!(error, AuthError::RateLimited(_)) {
                measure::login(LoginOutcome::RateLimited);
            }
        })
    }

    /// Forgets clients whose requests have all drained, so the table does
    /// not grow with every address ever seen.
    pub async fn forget_quiet_clients(&self) {
        if self.per_minute == 0 {
            return;
        }
        let swept = service_kit::db::blocking(&self.pool, |conn| {
            rate_limits::sweep(conn).map_err(DbError::from)
        })
        .await;
        if let Err(error) = swept {
            tracing::warn!(error = %service_kit::error::Chain(&error), "cannot sweep the rate limits");
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
    let client = ClientNetwork::of(req.request());
    let limit = req.app_data::<web::Data<RateLimit>>().cloned();
    let verdict = match (client, limit) {
        (Some(client), Some(limit)) => limit.check(client).await,
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
