//! Prometheus metrics: one recorder per process (`metrics` with
//! `metrics-exporter-prometheus`), the HTTP metrics of every request
//! ([`http_metrics`], labelled by route *template*, never the raw path,
//! and by method from the standard set, anything else `other`: no label
//! takes a value a client makes up), the pool gauges, and the separate
//! listener that serves `GET /metrics` (`METRICS_BIND_ADDR`), so the
//! public port never exposes them.
//!
//! Every series carries a `service` label, and each listener serves its
//! own service's series only: the dev stack runs both services in one
//! process, on one recorder.

use std::net::{SocketAddr, TcpListener};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{App, HttpResponse, HttpServer, web};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

use crate::db::PgPool;

mod series;
use series::{SeriesHandles, status_class};

/// Latency buckets, in seconds: 1 ms to 10 s.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// How often recorded histogram samples are folded into their buckets.
const UPKEEP: Duration = Duration::from_secs(5);

/// The process's recorder, installed on first use (the dev stack runs both
/// services in one process: they share it, told apart by `service`).
pub fn handle() -> Result<PrometheusHandle, String> {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), BUCKETS)
                .and_then(|builder| builder.install_recorder())
                .map_err(|error: BuildError| error.to_string())?;
            describe();
            // The recorder keeps every histogram sample until something
            // folds them into buckets: a scrape does, and so must this
            // thread, or a service nobody scrapes (METRICS_BIND_ADDR empty,
            // or no Prometheus yet) grows by every request it answers (the
            // soak benchmark saw it).
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP);
                        upkeep.run_upkeep();
                    }
                })
                .map_err(|error| format!("cannot start the metrics upkeep: {error}"))?;
            Ok(handle)
        })
        .clone()
}

/// The help text of the metrics this crate records.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "http_requests_total",
        "HTTP requests by route template, method and status class."
    );
    describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "HTTP request latency by route template and method."
    );
    describe_gauge!("http_requests_in_flight", "HTTP requests being served now.");
    describe_gauge!(
        "db_pool_connections",
        "Database pool connections, idle or in use."
    );
    describe_gauge!(
        "db_pool_max_connections",
        "The database pool's size (DB_POOL_MAX_SIZE)."
    );
    describe_gauge!(
        "db_pool_waiting",
        "Requests waiting in line for a database connection, read at scrape time."
    );
    describe_histogram!(
        "db_pool_wait_duration_seconds",
        Unit::Seconds,
        "How long a request waited for a pooled connection (in line, then the checkout)."
    );
    describe_counter!(
        "db_pool_checkout_failures_total",
        "Requests that got no pooled connection in time (answered 503)."
    );
    describe_counter!(
        "db_connections_broken_total",
        "Pooled connections found dead (the server or the link went away); each is dropped."
    );
    describe_counter!(
        "db_retries_total",
        "Idempotent database work run a second time because its connection broke under it."
    );
}

/// The service name the HTTP metrics carry, as app data.
#[derive(Clone, Copy)]
pub struct ServiceName(pub &'static str);

/// Middleware: `http_requests_total{service, route, method, status}` (the
/// status as a class, `2xx`), `http_request_duration_seconds{service,
/// route, method}` and `http_requests_in_flight{service}`. The route is
/// the matched template (`/me`), or `unmatched` for any unknown path.
/// Each worker keeps the handles of the series it has used (`series`),
/// so a request records into them directly instead of building and
/// looking up three labelled keys in the registry.
pub async fn http_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let service = req
        .app_data::<web::Data<ServiceName>>()
        .map_or("unknown", |name| name.0);
    let method = method_label(req.method());
    let started = Instant::now();
    let in_flight = SeriesHandles::in_flight(service);
    in_flight.increment(1);
    let outcome = next.call(req).await;
    in_flight.decrement(1);
    let (route, status) = match &outcome {
        Ok(response) => (
            response.request().match_pattern(),
            response.status().as_u16(),
        ),
        Err(error) => (None, error.as_response_error().status_code().as_u16()),
    };
    let route = route.unwrap_or_else(|| "unmatched".to_owned());
    let (requests, duration) = SeriesHandles::request(service, route, method, status_class(status));
    requests.increment(1);
    duration.record(started.elapsed().as_secs_f64());
    outcome
}

/// The `method` label of a request: its method when it is one of HTTP's
/// own (RFC 9110 and PATCH), else `other`. actix accepts any token as a
/// method, and a label per made-up method would be a new series each
/// time (a client sending `ZZZ…` grew `/metrics` by megabytes).
pub fn method_label(method: &Method) -> &'static str {
    const STANDARD: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::CONNECT,
        Method::OPTIONS,
        Method::TRACE,
        Method::PATCH,
    ];
    STANDARD
        .iter()
        .find(|standard| *standard == method)
        .map_or("other", Method::as_str)
}

/// Binds `addr` and builds the metrics server (not yet running): `GET
/// /metrics` in the Prometheus text format, `service`'s series only
/// ([`own_series`]), with the pool gauges read at scrape time.
pub fn serve_metrics(
    addr: SocketAddr,
    service: &'static str,
    pool: PgPool,
    handle: PrometheusHandle,
) -> std::io::Result<(Server, SocketAddr)> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    let server = HttpServer::new(move || {
        let pool = pool.clone();
        let handle = handle.clone();
        App::new().route(
            "/metrics",
            web::get().to(move || {
                record_pool(service, &pool);
                let body = own_series(&handle.render(), service);
                async move {
                    HttpResponse::Ok()
                        .content_type("text/plain; version=0.0.4; charset=utf-8")
                        .body(body)
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok((server, local))
}

/// The part of a rendered scrape that belongs to `service`: the samples
/// whose `service` label names it (and any without one), with the
/// `# HELP` and `# TYPE` lines of the families that keep a sample.
pub fn own_series(text: &str, service: &str) -> String {
    let mut own = String::with_capacity(text.len());
    // The comment lines of the family being read, until a sample of it
    // is kept; whether one was.
    let (mut family, mut header, mut kept) = ("", String::new(), false);
    for line in text.lines() {
        if line.trim().is_empty() {
            if kept {
                own.push('\n');
            }
            (family, kept) = ("", false);
            header.clear();
        } else if line.starts_with('#') {
            let name = line.split_whitespace().nth(2).unwrap_or_default();
            if name != family {
                (family, kept) = (name, false);
                header.clear();
            }
            header.push_str(line);
            header.push('\n');
        } else if service_label(line).is_none_or(|label| label == service) {
            own.push_str(&header);
            header.clear();
            own.push_str(line);
            own.push('\n');
            kept = true;
        }
    }
    own
}

/// The value of a sample line's `service` label, if it has one.
fn service_label(sample: &str) -> Option<&str> {
    let (_, rest) = sample.split_once('{')?;
    let (labels, _) = rest.rsplit_once('}')?;
    labels
        .split("\",")
        .find_map(|pair| pair.strip_prefix("service=\""))
        .map(|value| value.trim_end_matches('"'))
}

fn record_pool(service: &'static str, pool: &PgPool) {
    let state = pool.state();
    let idle = f64::from(state.idle_connections);
    let in_use = f64::from(state.connections.saturating_sub(state.idle_connections));
    metrics::gauge!("db_pool_connections", "service" => service, "state" => "idle").set(idle);
    metrics::gauge!("db_pool_connections", "service" => service, "state" => "in_use").set(in_use);
    metrics::gauge!("db_pool_max_connections", "service" => service)
        .set(f64::from(pool.max_size()));
    metrics::gauge!("db_pool_waiting", "service" => service).set(pool.waiting() as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_made_up_method_is_other_and_the_standard_ones_are_themselves() {
        let made_up = Method::from_bytes("Z".repeat(2000).as_bytes()).unwrap_or_default();
        assert_eq!(method_label(&made_up), "other");
        let webdav = Method::from_bytes(b"PROPFIND").unwrap_or_default();
        assert_eq!(method_label(&webdav), "other");
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
    }

    #[test]
    fn a_listener_serves_its_own_services_series_and_their_help() {
        let scrape = "\
# HELP http_requests_total HTTP requests.
# TYPE http_requests_total counter
http_requests_total{service=\"auth-service\",route=\"/login\"} 3
http_requests_total{service=\"profile-service\",route=\"/me\"} 5

# HELP auth_logins_total Logins.
# TYPE auth_logins_total counter
auth_logins_total{service=\"auth-service\",outcome=\"success\"} 1

# TYPE profile_cache_listening gauge
profile_cache_listening{service=\"profile-service\"} 1

# TYPE process_up gauge
process_up 1
";
        let auth = own_series(scrape, "auth-service");
        assert!(auth.contains("route=\"/login\"} 3") && auth.contains("auth_logins_total{"));
        assert!(auth.contains("# HELP auth_logins_total") && auth.contains("process_up 1"));
        assert!(!auth.contains("profile"), "{auth}");
        let profile = own_series(scrape, "profile-service");
        assert!(profile.contains("route=\"/me\"} 5") && profile.contains("# TYPE profile_cache"));
        assert!(!profile.contains("auth"), "{profile}");
        assert_eq!(
            own_series(scrape, "auth-service"),
            auth,
            "the same each time"
        );
    }
}
