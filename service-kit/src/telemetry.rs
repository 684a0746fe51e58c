//! Logging through `tracing`: human-readable on a terminal, one JSON object
//! per line otherwise, with actix's and r2d2's `log` records and panics
//! routed through the same subscriber so no line escapes the format.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use std::error::Error as StdError;
use std::fmt;

use crate::config::LogFormat;
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (once per process; later calls are
/// ignored, which lets the dev stack run both services in one process).
/// In JSON each line carries the request's span (`request_id`, `user`,
/// `session`) when there is one.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    let installed = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    if installed.is_ok() {
        std::panic::set_hook(Box::new(|info| {
            tracing::error!(panic = %info, "panic");
        }));
    }
}

/// The span of each request (tracing-actix-web's, with a request id), plus
/// the `user` and `session` it acts for once they are known. The one log
/// line per request is [`access_log`]'s.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let span = tracing_actix_web::root_span!(
            request,
            user = tracing::field::Empty,
            session = tracing::field::Empty
        );
        // The query string could carry a secret: log the path only.
        span.record("http.target", request.path());
        // tracing-actix-web believes Forwarded/X-Forwarded-For from anyone;
        // log the peer, which no client can forge.
        if let Some(peer) = request.peer_addr() {
            span.record("http.client_ip", tracing::field::display(peer.ip()));
        }
        span
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// Ties the current request's log lines to `user` and `session` (ids,
/// never tokens).
pub fn record_session(user: uuid::Uuid, session: uuid::Uuid) {
    let span = Span::current();
    span.record("user", tracing::field::display(user));
    span.record("session", tracing::field::display(session));
}

/// One log line per request: method, path (never the query string, which
/// could carry a secret), status and latency, inside the request's span.
pub async fn access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let outcome = next.call(req).await;
    let status = match &outcome {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if status.is_server_error() {
        tracing::warn!(%method, %path, status = status.as_u16(), latency_ms, "request");
    } else {
        tracing::info!(%method, %path, status = status.as_u16(), latency_ms, "request");
    }
    outcome
}

/// An error and each of its sources, joined by `: `, for one log line.
pub struct Chain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
