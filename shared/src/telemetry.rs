//! Logging through `tracing`: human-readable on a terminal, one JSON object
//! per line otherwise, with actix's and r2d2's `log` records and panics
//! routed through the same subscriber so no line escapes the format.

use std::io::IsTerminal;
use std::str::FromStr;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

/// `LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Coloured, multi-field lines for people.
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

impl LogFormat {
    /// `pretty` on a terminal, `json` otherwise.
    pub fn detect() -> Self {
        if std::io::stdout().is_terminal() {
            Self::Pretty
        } else {
            Self::Json
        }
    }

    /// `LOG_FORMAT` if it is valid, else [`LogFormat::detect`]; the config
    /// reports an invalid value later, through the logger this picks.
    pub fn from_env_or_detect() -> Self {
        std::env::var("LOG_FORMAT")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(Self::detect)
    }
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_lowercase().as_str() {
            "pretty" => Ok(Self::Pretty),
            "json" => Ok(Self::Json),
            _ => Err("use pretty or json".to_owned()),
        }
    }
}

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
/// line per request is [`crate::http::access_log`]'s.
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
