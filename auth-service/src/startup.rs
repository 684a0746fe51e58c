//! Builds the running auth service from a [`Config`]: pool, migrations,
//! state and routes.

use actix_web::http::Method;
use actix_web::web;
use shared::http::ErrorStyle;
use shared::startup::{Application, ServerParts, StartupError, resource, serve};

use crate::config::Config;
use crate::passwords::Passwords;
use crate::rate_limit::RateLimit;
use crate::routes::{login, sessions, signup};
use crate::state::AppState;
use crate::store::MIGRATIONS;
use crate::tokens::Tokens;

const POST: &[Method] = &[Method::POST];

/// Waits for the database, migrates it, and binds `BIND_ADDR` (port 0
/// picks a free port; see [`Application::port`]).
pub async fn build(config: Config) -> Result<Application, StartupError> {
    let pool = shared::db::pool(
        &config.common.database_url,
        config.common.db_pool_max_size,
        config.common.db_connect_timeout,
    );
    shared::db::wait_and_migrate(pool.clone(), MIGRATIONS).await?;
    let cost = config.bcrypt_cost;
    let passwords = web::block(move || Passwords::new(cost))
        .await
        .map_err(|error| StartupError::Other(error.to_string()))?
        .map_err(|error| StartupError::Other(format!("cannot make the dummy hash: {error}")))?;
    let state = web::Data::new(AppState {
        pool: pool.clone(),
        passwords,
        tokens: Tokens::new(&config),
        rate_limit: RateLimit::new(config.rate_limit_per_minute, config.trusted_proxies.clone()),
        login_failure_limit: config.login_failure_limit,
        reuse_grace: config.reuse_grace,
    });
    spawn_rate_limit_sweeper(state.clone());
    serve(ServerParts {
        name: "auth-service",
        bind_addr: config.common.bind_addr,
        pool,
        cors_allowed_origins: config.common.cors_allowed_origins.clone(),
        openapi: crate::openapi::document(),
        routes: move |app: &mut web::ServiceConfig| {
            app.app_data(state.clone())
                .service(resource("/signup", POST).route(web::post().to(signup::signup)))
                .service(
                    resource("/login", POST)
                        .app_data(ErrorStyle::TokenEndpoint)
                        .route(web::post().to(login::token)),
                )
                .service(
                    resource("/refresh", POST)
                        .app_data(ErrorStyle::TokenEndpoint)
                        .route(web::post().to(sessions::refresh)),
                )
                .service(resource("/logout", POST).route(web::post().to(sessions::logout)));
        },
    })
}

fn spawn_rate_limit_sweeper(state: web::Data<AppState>) {
    actix_web::rt::spawn(async move {
        let mut every = actix_web::rt::time::interval(RateLimit::SWEEP_EVERY);
        loop {
            every.tick().await;
            state.rate_limit.forget_quiet_clients();
        }
    });
}
