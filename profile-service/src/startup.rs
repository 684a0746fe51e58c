//! Builds the running profile service from a [`Config`]: pool, migrations,
//! the token verifier, the revocation set (loaded before the first
//! request), the events listener and routes.

use std::sync::Arc;

use actix_web::http::Method;
use actix_web::web;
use service_kit::fallback::OtherService;
use service_kit::startup::{Application, ServerParts, StartupError, resource, serve};
use shared::token::TokenCodec;

use service_kit::background::Background;
use service_kit::db::{DbError, PgPool, blocking};
use service_kit::health::ReadyGate;

use crate::cache::ProfileCache;
use crate::config::Config;
use crate::revocations::Revocations;
use crate::routes::me;
use crate::store::MIGRATIONS;

/// How often expired revocations leave memory and the database.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

const GET_PATCH: &[Method] = &[Method::GET, Method::PATCH];

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
    // The recorder first: help texts given before it exist are lost.
    service_kit::metrics::handle().map_err(StartupError::Other)?;
    crate::cache::describe();
    crate::revocations::describe();
    let revocations = Arc::new(Revocations::new(config.event_secret.is_some()));
    load_revocations(&pool, &revocations).await?;
    let cache = Arc::new(ProfileCache::new(config.cache));
    crate::listener::spawn(config.common.database_url.clone(), &cache, &revocations).map_err(
        |error| StartupError::Other(format!("cannot start the profile listener: {error}")),
    )?;
    let events = match &config.event_secret {
        Some(secret) => Some(crate::internal::serve(
            config.internal_bind_addr,
            pool.clone(),
            secret.clone(),
            revocations.clone(),
        )?),
        None => None,
    };
    let sweeper = sweep(pool.clone(), revocations.clone());
    let gate = {
        let revocations = revocations.clone();
        web::Data::new(ReadyGate(Arc::new(move || revocations.readiness())))
    };
    let revocations = web::Data::from(revocations);
    let cache = web::Data::from(cache);
    let codec = web::Data::new(TokenCodec::new(
        config.common.access_keys.clone(),
        &config.common.tokens,
    ));
    let application = serve(ServerParts {
        name: crate::SERVICE,
        bind_addr: config.common.bind_addr,
        metrics_addr: config.common.metrics_bind_addr,
        pool,
        cors_allowed_origins: config.common.cors_allowed_origins.clone(),
        openapi: crate::openapi::document(&config.auth_token_url),
        other_service: OtherService {
            name: "auth-service",
            default_port: 8001,
            routes: shared::api::AUTH_ROUTES,
        },
        routes: move |app: &mut web::ServiceConfig| {
            app.app_data(codec.clone())
                .app_data(cache.clone())
                .app_data(revocations.clone())
                .app_data(gate.clone())
                .service(
                    resource("/me", GET_PATCH)
                        .route(web::get().to(me::get_me))
                        .route(web::patch().to(me::patch_me)),
                );
        },
    })?;
    let application = application.with_background(sweeper);
    Ok(match events {
        Some((listener, _)) => application.with_background(listener),
        None => application,
    })
}

/// Fills `revocations` from the database before the first request.
async fn load_revocations(pool: &PgPool, revocations: &Revocations) -> Result<(), StartupError> {
    let all = blocking(pool, |conn| {
        Ok::<_, DbError>(crate::store::revocations::live(conn, chrono::Utc::now())?)
    })
    .await
    .map_err(|error| StartupError::Other(format!("cannot load the revocations: {error}")))?;
    revocations.replace_all(all);
    Ok(())
}

/// Every [`SWEEP_EVERY`], drops expired revocations from memory and the
/// database, and webhook ids older than an hour.
fn sweep(pool: PgPool, revocations: Arc<Revocations>) -> Background {
    Background::spawn("revocation sweeper", move |mut stop| async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(SWEEP_EVERY) => {}
                () = stop.requested() => return,
            }
            let now = chrono::Utc::now();
            revocations.sweep(now.timestamp());
            let swept = blocking(&pool, move |conn| {
                Ok::<_, DbError>(crate::store::revocations::sweep(conn, now)?)
            })
            .await;
            if let Err(error) = swept {
                tracing::warn!(%error, "cannot sweep expired revocations");
            }
        }
    })
}
