//! Builds the running auth service from a [`Config`]: pool, migrations,
//! state and routes, with the per-client limit on the credential routes
//! and the OAuth 2.0 error shape on the token endpoints.

use std::sync::Arc;

use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::web;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use service_kit::fallback::OtherService;
use service_kit::startup::{Application, ServerParts, StartupError, resource, serve};
use sha2::Sha256;
use shared::keys::KeySet;

use crate::client_ip::TrustedProxies;
use crate::config::Config;
use crate::discovery::Discovery;
use crate::events::Events;
use crate::hash_gate::HashGate;
use crate::mfa::Mfa;
use crate::passwords::Passwords;
use crate::rate_limit::{RateLimit, per_client};
use crate::routes::{
    account, login, mfa, password, recovery, sessions, signup, verify, well_known,
};
use crate::state::AppState;
use crate::store::MIGRATIONS;
use crate::token_endpoint::oauth_errors;
use crate::tokens::Tokens;

const POST: &[Method] = &[Method::POST];
const GET: &[Method] = &[Method::GET, Method::HEAD];
const DELETE: &[Method] = &[Method::DELETE];
const POST_DELETE: &[Method] = &[Method::POST, Method::DELETE];

/// Waits for the database, migrates it, and binds `BIND_ADDR` (port 0
/// picks a free port; see [`Application::port`]).
pub async fn build(config: Config) -> Result<Application, StartupError> {
    let pool = service_kit::db::pool(
        crate::SERVICE,
        &config.common.database_url,
        config.common.db_pool_max_size,
        config.common.db_connect_timeout,
    );
    service_kit::db::wait_and_migrate(pool.clone(), MIGRATIONS).await?;
    let cost = config.bcrypt_cost;
    let passwords = web::block(move || Passwords::new(cost))
        .await
        .map_err(|error| StartupError::Other(error.to_string()))?
        .map_err(|error| StartupError::Other(format!("cannot make the dummy hash: {error}")))?;
    // The recorder first: help texts given before it exist are lost.
    service_kit::metrics::handle().map_err(StartupError::Other)?;
    crate::measure::describe();
    let network_key = network_key(&config.refresh_keys)?;
    let mfa = config
        .mfa_key
        .as_ref()
        .map(|key| Mfa::new(key, &config.app_name))
        .transpose()
        .map_err(|error| StartupError::Other(format!("cannot key the second factor: {error}")))?;
    crate::services::accounts::backfill_skeletons(pool.clone())
        .await
        .map_err(|error| {
            StartupError::Other(format!("cannot backfill email skeletons: {error}"))
        })?;
    let state = web::Data::new(AppState {
        pool: pool.clone(),
        passwords,
        hash_gate: HashGate::new(
            config.hash_concurrency,
            config.hash_queue_max,
            config.hash_queue_timeout,
        ),
        tokens: Tokens::new(&config),
        login_failure_limit: config.login_failure_limit,
        login_failure_account_limit: config.login_failure_account_limit,
        reuse_grace: config.reuse_grace,
        refresh_ttl: config.refresh_ttl,
        mail: config.mail.clone(),
        events: Events::new(Arc::new(config.events.clone()), config.access_ttl),
        network_key,
        mfa,
    });
    let well_known = well_known::routes(web::Data::new(Discovery::new(
        &config.common.access_keys,
        &config.common.tokens.issuer,
        &config.public_url,
    )));
    let rate_limit = web::Data::new(RateLimit::new(pool.clone(), config.rate_limit_per_minute));
    let trusted_proxies = web::Data::new(TrustedProxies(config.trusted_proxies.clone()));
    spawn_rate_limit_sweeper(rate_limit.clone());
    let workers = crate::workers::start(
        &pool,
        config.common.database_url.clone(),
        &config.mail,
        &config.events,
    )
    .map_err(|error| StartupError::Other(service_kit::error::Chain(&error).to_string()))?;
    let application = serve(ServerParts {
        name: crate::SERVICE,
        bind_addr: config.common.bind_addr,
        metrics_addr: config.common.metrics_bind_addr,
        pool,
        cors_allowed_origins: config.common.cors_allowed_origins.clone(),
        openapi: crate::openapi::document(),
        other_service: OtherService {
            name: "profile-service",
            default_port: 8002,
            routes: shared::api::PROFILE_ROUTES,
        },
        routes: move |app: &mut web::ServiceConfig| {
            app.app_data(state.clone())
                .app_data(rate_limit.clone())
                .app_data(trusted_proxies.clone())
                .configure(well_known.clone())
                .service(
                    resource("/signup", POST)
                        .route(web::post().to(signup::signup))
                        .wrap(from_fn(per_client)),
                )
                .service(
                    resource("/login", POST)
                        .route(web::post().to(login::token))
                        .wrap(from_fn(oauth_errors)),
                )
                .service(
                    resource("/refresh", POST)
                        .route(web::post().to(sessions::refresh))
                        .wrap(from_fn(per_client))
                        .wrap(from_fn(oauth_errors)),
                )
                .service(resource("/logout", POST).route(web::post().to(sessions::logout)))
                .service(
                    resource("/verify", POST)
                        .route(web::post().to(verify::verify))
                        .wrap(from_fn(per_client)),
                )
                .service(
                    resource("/verify/resend", POST)
                        .route(web::post().to(verify::resend))
                        .wrap(from_fn(per_client)),
                )
                .service(
                    resource("/recover", POST)
                        .route(web::post().to(recovery::recover))
                        .wrap(from_fn(per_client)),
                )
                .service(
                    resource("/reset", POST)
                        .route(web::post().to(recovery::reset))
                        .wrap(from_fn(per_client)),
                )
                .service(
                    resource("/password", POST)
                        .route(web::post().to(password::change))
                        .wrap(from_fn(per_client)),
                )
                .service(resource("/sessions", GET).route(web::get().to(sessions::list)))
                .service(resource("/sessions/{id}", DELETE).route(web::delete().to(sessions::end)))
                .service(
                    resource("/mfa/totp", POST_DELETE)
                        .route(web::post().to(mfa::enrol))
                        .route(web::delete().to(mfa::disable))
                        .wrap(from_fn(per_client)),
                )
                .service(
                    resource("/mfa/totp/confirm", POST)
                        .route(web::post().to(mfa::confirm))
                        .wrap(from_fn(per_client)),
                )
                .service(
                    resource("/account", DELETE)
                        .route(web::delete().to(account::delete))
                        .wrap(from_fn(per_client)),
                );
        },
    })?;
    Ok(workers
        .into_iter()
        .fold(application, Application::with_background))
}

/// The key of the known-network hashes, derived for this one purpose from
/// the refresh-token signing key (a new signer forgets known networks).
fn network_key(keys: &KeySet) -> Result<Hmac<Sha256>, StartupError> {
    let invalid = |_| StartupError::Other("cannot key the network hashes".into());
    let material = keys
        .signing_material()
        .ok_or_else(|| StartupError::Other("no refresh signing key".into()))?;
    let mut derive = Hmac::<Sha256>::new_from_slice(material.expose_secret()).map_err(invalid)?;
    derive.update(b"auth-service known networks v1");
    Hmac::<Sha256>::new_from_slice(&derive.finalize().into_bytes()).map_err(invalid)
}

fn spawn_rate_limit_sweeper(rate_limit: web::Data<RateLimit>) {
    actix_web::rt::spawn(async move {
        let mut every = actix_web::rt::time::interval(RateLimit::SWEEP_EVERY);
        loop {
            every.tick().await;
            rate_limit.forget_quiet_clients().await;
        }
    });
}
