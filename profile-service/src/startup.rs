//! Builds the running profile service from a [`Config`]: pool, migrations,
//! the token verifier and routes.

use std::sync::Arc;

use actix_web::http::Method;
use actix_web::web;
use service_kit::fallback::OtherService;
use service_kit::startup::{Application, ServerParts, StartupError, resource, serve};
use shared::token::TokenCodec;

use crate::cache::ProfileCache;
use crate::config::Config;
use crate::routes::me;
use crate::store::MIGRATIONS;

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
    let cache = Arc::new(ProfileCache::new(config.cache));
    crate::listener::spawn(config.common.database_url.clone(), &cache).map_err(|error| {
        StartupError::Other(format!("cannot start the profile cache listener: {error}"))
    })?;
    let cache = web::Data::from(cache);
    let codec = web::Data::new(TokenCodec::new(
        config.common.access_keys.clone(),
        &config.common.tokens,
    ));
    serve(ServerParts {
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
            app.app_data(codec.clone()).app_data(cache.clone()).service(
                resource("/me", GET_PATCH)
                    .route(web::get().to(me::get_me))
                    .route(web::patch().to(me::patch_me)),
            );
        },
    })
}
