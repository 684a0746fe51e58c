//! `ceiling`: what `GET /me` could at best be, for the benchmark. A
//! minimal actix-web server with as many workers as the services, whose
//! `GET /me` verifies the Bearer token exactly as profile-service does
//! (its own `Authenticated` extractor and a `TokenCodec` from its own
//! configuration: `JWT_SECRET_KEY` / `JWT_KEYS`, `JWT_ISSUER`, ...) and
//! answers a small JSON body; no database, middleware or logging.
//! `GET /readyz` answers 200 at once, so start-up is timed the same way.
//! Configured like profile-service (`DATABASE_URL` is required but never
//! opened); `BIND_ADDR` says where it listens. Once bound it prints one
//! line in the shape of the services' JSON `"listening"` log line, with the
//! address (its port the kernel's choice when `BIND_ADDR` asks for 0).

use std::net::TcpListener;
use std::process::ExitCode;

use actix_web::{App, HttpResponse, HttpServer, web};
use profile_service::config::Config;
use profile_service::testing::{Authenticated, Revocations};
use shared::token::TokenCodec;

async fn me(user: Authenticated) -> HttpResponse {
    let claims = user.0;
    HttpResponse::Ok().json(serde_json::json!({"id": claims.sub, "email": claims.email}))
}

async fn ready() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

#[actix_web::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("ceiling: {error}");
            return ExitCode::from(2);
        }
    };
    let codec = web::Data::new(TokenCodec::new(
        config.common.access_keys.clone(),
        &config.common.tokens,
    ));
    let bind = config.common.bind_addr;
    let bound = TcpListener::bind(bind).and_then(|listener| {
        let addr = listener.local_addr()?;
        Ok((listener, addr))
    });
    let (listener, addr) = match bound {
        Ok(bound) => bound,
        Err(error) => {
            eprintln!("ceiling: cannot listen on {bind}: {error}");
            return ExitCode::from(1);
        }
    };
    // The same worker count as service_kit::startup::serve.
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    // Empty, as a service with no revocation: the check still runs.
    let revocations = web::Data::new(Revocations::new(false));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(codec.clone())
            .app_data(revocations.clone())
            .route("/me", web::get().to(me))
            .route("/readyz", web::get().to(ready))
    })
    .workers(workers)
    .listen(listener);
    let served = match server {
        Ok(server) => {
            let listening = serde_json::json!({"message": "listening", "addr": addr.to_string()});
            println!("{listening}");
            server.run().await
        }
        Err(error) => {
            eprintln!("ceiling: cannot listen on {addr}: {error}");
            return ExitCode::from(1);
        }
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ceiling: {error}");
            ExitCode::FAILURE
        }
    }
}
