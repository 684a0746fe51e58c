//! The internal listener (`INTERNAL_BIND_ADDR`, loopback by default):
//! `POST /events` and nothing else, never on the public port. It runs
//! beside the public server and stops with it.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::http::Method;
use actix_web::{App, HttpResponse, HttpServer, web};
use service_kit::background::Background;
use service_kit::db::PgPool;
use service_kit::startup::{StartupError, resource};
use shared::api::{ErrorBody, ErrorCode};
use shared::events::EventSecret;

use crate::revocations::Revocations;
use crate::routes::events;

/// The largest event body accepted.
const MAX_BODY: usize = 64 * 1024;

/// Binds `addr` and serves `POST /events` until the service stops.
pub fn serve(
    addr: SocketAddr,
    pool: PgPool,
    secret: Arc<EventSecret>,
    revocations: Arc<Revocations>,
) -> Result<(Background, SocketAddr), StartupError> {
    let bind_error = |error| StartupError::Bind(addr, error);
    let listener = TcpListener::bind(addr).map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    let pool = web::Data::new(pool);
    let secret = web::Data::from(secret);
    let revocations = web::Data::from(revocations);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(pool.clone())
            .app_data(secret.clone())
            .app_data(revocations.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .service(resource("/events", &[Method::POST]).route(web::post().to(events::receive)))
            .default_service(web::to(|| async {
                HttpResponse::NotFound().json(ErrorBody::new(
                    ErrorCode::NotFound,
                    "The internal listener serves POST /events only.",
                ))
            }))
    })
    .disable_signals()
    .workers(1)
    .listen(listener)
    .map_err(bind_error)?
    .run();
    tracing::info!(addr = %local, "events listening");
    let task = Background::spawn("events listener", move |mut stop| async move {
        let handle = server.handle();
        let served = tokio::spawn(server);
        stop.requested().await;
        handle.stop(true).await;
        let _ = served.await;
    });
    Ok((task, local))
}
