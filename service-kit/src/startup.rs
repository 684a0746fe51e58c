//! Starting a service the same way in both binaries: the HTTP server with
//! the common middleware (CORS, JSON error fallback, access log, request
//! span), health routes and docs around the service's own routes; graceful
//! shutdown; and the `main` that reads config, starts and reports.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::ExitCode;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::{Method, header};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, Resource, guard, web};
use tracing_actix_web::TracingLogger;
use utoipa_swagger_ui::{self as swagger_ui, SwaggerUi};

use crate::background::Background;
use crate::body_deadline::body_deadline;
use crate::config::{ConfigError, LogFormat};
use crate::db::PgPool;
use crate::error::Chain;
use crate::extract::{form_config, json_config};
use crate::fallback::{OtherService, json_errors, method_not_allowed, not_found};
use crate::telemetry::{self, RequestSpan, access_log};

/// Why a service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] crate::db::PrepareError),
    #[error("cannot listen on {0}")]
    Bind(SocketAddr, #[source] std::io::Error),
    #[error("{0}")]
    Other(String),
}

/// Where a client on this machine reaches a listener bound to `addr`:
/// `addr` itself, or the loopback address when it is bound to all of them
/// (`0.0.0.0`, `::`).
pub fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        ip if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port()),
        _ => addr,
    }
}

/// A bound, not yet running, service (and its metrics listener).
pub struct Application {
    addr: SocketAddr,
    server: Server,
    metrics: Option<(Server, SocketAddr)>,
    background: Vec<Background>,
}

impl Application {
    /// The address the service listens on, its port the kernel's choice
    /// when `BIND_ADDR` asked for port 0.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where `GET /metrics` answers, unless `METRICS_BIND_ADDR` is empty.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(_, addr)| *addr)
    }

    /// Runs `task` beside the server until it stops.
    pub fn with_background(mut self, task: Background) -> Self {
        self.background.push(task);
        self
    }

    /// Serves until SIGTERM or Ctrl-C (SIGINT), then stops accepting and
    /// lets in-flight requests finish (up to 30 s), then stops the
    /// background tasks. actix alone would treat Ctrl-C as a forced stop
    /// that drops them.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let metrics = self.metrics.map(|(server, _)| {
            let handle = server.handle();
            actix_web::rt::spawn(server);
            handle
        });
        actix_web::rt::spawn(async move {
            match shutdown_signal().await {
                Ok(signal) => tracing::info!(signal, "stopping: draining in-flight requests"),
                Err(error) => tracing::error!(%error, "cannot listen for signals; stopping"),
            }
            handle.stop(true).await;
            if let Some(metrics) = metrics {
                metrics.stop(true).await;
            }
        });
        let served = self.server.await;
        for task in self.background {
            task.stop().await;
        }
        served
    }
}

/// Waits for SIGTERM or SIGINT and names it.
async fn shutdown_signal() -> std::io::Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    })
}

/// What differs between the two services' servers.
pub struct ServerParts<F> {
    /// `auth-service` or `profile-service`, for the start-up line.
    pub name: &'static str,
    pub bind_addr: SocketAddr,
    /// `METRICS_BIND_ADDR`; `None` turns the metrics listener off.
    pub metrics_addr: Option<SocketAddr>,
    pub pool: PgPool,
    pub cors_allowed_origins: Vec<String>,
    pub openapi: utoipa::openapi::OpenApi,
    /// The stack's other service, which a 404 for one of its routes names.
    pub other_service: OtherService,
    /// Registers the service's own routes and app data.
    pub routes: F,
}

/// A resource that answers 405 `method_not_allowed` (with `Allow`) for
/// methods other than `allowed`.
pub fn resource(path: &str, allowed: &'static [Method]) -> Resource {
    web::resource(path).default_service(web::to(method_not_allowed(allowed)))
}

const GET: &[Method] = &[Method::GET, Method::HEAD];

/// Binds `parts.bind_addr` and builds the server: the service's routes,
/// `/healthz`, `/readyz`, `/docs`, `/openapi.json`, a JSON 404, CORS, the
/// JSON error fallback, a deadline on slow bodies, one log span per
/// request, and connection limits the file-descriptor limit can hold.
pub fn serve<F>(parts: ServerParts<F>) -> Result<Application, StartupError>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let ServerParts {
        name,
        bind_addr,
        metrics_addr,
        pool,
        cors_allowed_origins,
        openapi,
        other_service,
        routes,
    } = parts;
    let bind_error = |error| StartupError::Bind(bind_addr, error);
    let listener = TcpListener::bind(bind_addr).map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    let metrics = match metrics_addr {
        Some(addr) => {
            let handle = crate::metrics::handle().map_err(StartupError::Other)?;
            let served = crate::metrics::serve_metrics(addr, name, pool.clone(), handle)
                .map_err(|error| StartupError::Bind(addr, error))?;
            tracing::info!(service = name, addr = %served.1, "metrics listening");
            Some(served)
        }
        None => None,
    };
    let service_name = web::Data::new(crate::metrics::ServiceName(name));
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let limits = ConnectionLimits::for_this_process(workers, pool.max_size());
    let pool = web::Data::new(pool);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(pool.clone())
            .app_data(service_name.clone())
            .app_data(json_config())
            .app_data(form_config())
            .configure(routes.clone())
            .service(
                resource("/healthz", GET)
                    .route(web::get().to(crate::health::healthz))
                    .route(web::head().to(crate::health::healthz)),
            )
            .service(
                resource("/readyz", GET)
                    .route(web::get().to(crate::health::readyz))
                    .route(web::head().to(crate::health::readyz)),
            )
            // Relative, so both still work behind a proxy's prefix
            // (/auth/docs → /auth/docs/, which loads /auth/openapi.json).
            .service(web::redirect("/docs", "docs/"))
            // Swagger UI answers GET only; other methods get our 405, not a 404.
            .service(
                web::resource(["/docs/{_:.*}", "/openapi.json"])
                    .guard(guard::Not(guard::Get()))
                    .to(method_not_allowed(&[Method::GET])),
            )
            .service(
                SwaggerUi::new("/docs/{_:.*}")
                    .url("/openapi.json", openapi.clone())
                    .config(swagger_ui::Config::new(["../openapi.json"])),
            )
            .default_service(web::to(not_found(name, other_service)))
            .wrap(from_fn(body_deadline))
            .wrap(cors(&cors_allowed_origins))
            .wrap(from_fn(json_errors))
            .wrap(from_fn(crate::metrics::http_metrics))
            .wrap(from_fn(access_log))
            .wrap(TracingLogger::<RequestSpan>::new())
    })
    .disable_signals()
    // A client that closes its side has gone: stop its request (actix
    // drops the handler's future, so a request waiting for a hashing slot
    // or a connection leaves the line) instead of finishing work nobody
    // will read. No client we serve half-closes to wait for an answer.
    .h1_allow_half_closed(false)
    .workers(workers)
    .max_connections(limits.per_worker)
    .max_connection_rate(limits.rate_per_worker)
    .listen(listener)
    .map_err(bind_error)?
    .run();
    tracing::info!(
        service = name,
        addr = %local,
        workers,
        max_connections = limits.per_worker * workers,
        open_files_limit = limits.open_files,
        "listening"
    );
    Ok(Application {
        addr: local,
        server,
        metrics,
        background: Vec::new(),
    })
}

/// A service's whole `main`: load `.env` (first, so its `RUST_LOG` and
/// `LOG_FORMAT` shape the logger too), start logging, read the config (exit
/// 2 with one line naming every bad variable), build (exit 1 with one
/// line), and serve until stopped (exit 0).
pub async fn run_main<C, B, Fut>(read_config: fn() -> Result<C, ConfigError>, build: B) -> ExitCode
where
    B: FnOnce(C) -> Fut,
    Fut: Future<Output = Result<Application, StartupError>>,
{
    crate::config::load_dotenv();
    telemetry::init(LogFormat::from_env_or_detect());
    let config = match read_config() {
        Ok(config) => config,
        Err(error) => {
            tracing::error!("{error}");
            return ExitCode::from(2);
        }
    };
    let application = match build(config).await {
        Ok(application) => application,
        Err(error) => {
            tracing::error!("cannot start: {}", Chain(&error));
            return ExitCode::from(1);
        }
    };
    match application.run_until_stopped().await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!("server failed: {error}");
            ExitCode::from(1)
        }
    }
}

/// CORS for `origins` (none: CORS stays off, browsers refuse cross-origin
/// calls). Preflights from other origins are refused with 400.
fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods([Method::GET, Method::POST, Method::PATCH, Method::OPTIONS])
        // Swagger UI's token request always sends X-Requested-With.
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::HeaderName::from_static("x-requested-with"),
        ])
        .expose_headers([header::WWW_AUTHENTICATE, header::RETRY_AFTER])
        .max_age(3600)
}

/// How many connections the server holds open, from the process's limit
/// on open files: what is left after the database pool and a reserve for
/// logs, libraries and the listener, shared by the workers. Past it, new
/// connections wait in the kernel's accept queue instead of failing with
/// "too many open files".
struct ConnectionLimits {
    open_files: usize,
    per_worker: usize,
    rate_per_worker: usize,
}

impl ConnectionLimits {
    const RESERVE: usize = 64;

    fn for_this_process(workers: usize, pool_size: u32) -> Self {
        let open_files = open_files_limit().unwrap_or(1024);
        let spare = open_files
            .saturating_sub(Self::RESERVE)
            .saturating_sub(usize::try_from(pool_size).unwrap_or(usize::MAX));
        Self {
            open_files,
            per_worker: (spare / workers.max(1)).clamp(16, 25_000),
            // New TLS-less connections a worker accepts at once (actix's
            // default is 256): a flood of new connections queues.
            rate_per_worker: 256,
        }
    }
}

/// The soft limit on open files, from `/proc/self/limits` (Linux).
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    let soft = line.split_whitespace().nth(3)?;
    if soft == "unlimited" {
        return Some(usize::MAX);
    }
    soft.parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::reachable;

    #[test]
    fn a_listener_on_every_address_is_reached_on_loopback() {
        for (bound, reached) in [
            ("0.0.0.0:8001", "127.0.0.1:8001"),
            ("[::]:8002", "127.0.0.1:8002"),
            ("127.0.0.2:9101", "127.0.0.2:9101"),
            ("[::1]:9102", "[::1]:9102"),
        ] {
            assert_eq!(
                reachable(bound.parse().unwrap()),
                reached.parse().unwrap(),
                "{bound}"
            );
        }
    }
}
