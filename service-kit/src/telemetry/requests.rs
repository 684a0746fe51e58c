//! The span of each request and its one access-log line. What a client
//! controls (method, path, host, user agent, the text of an error about
//! its input) is logged capped ([`capped`]): a 2,000-character method is
//! a made-up method, not 2,000 characters of log per line.

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError};
use tracing::Span;
use tracing::field::Empty;
use tracing_actix_web::{RequestId, RootSpanBuilder};

use super::capped;

/// The most characters of a method a line holds (the longest standard
/// one has 7, WebDAV's 16).
const METHOD_CHARS: usize = 16;
/// The most characters of a path, host or user agent a line holds.
const TEXT_CHARS: usize = 256;
/// The most characters of an error's text (a parse error may quote the
/// body it could not read).
const ERROR_CHARS: usize = 512;

/// The span of each request (tracing-actix-web's fields, with its request
/// id), plus the `user` and `session` it acts for once they are known.
/// The one log line per request is [`access_log`]'s.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        // Its fields cost a route lookup and a few strings: none of it
        // when the filter leaves the span out (`RUST_LOG=warn`), which
        // `Span::none()` is then as much as a disabled span.
        if !tracing::enabled!(tracing::Level::INFO) {
            return Span::none();
        }
        let method = capped(request.method().as_str(), METHOD_CHARS);
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "default".to_owned());
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let user_agent = request
            .headers()
            .get("user-agent")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        let span = tracing::info_span!(
            "HTTP request",
            http.method = %method,
            http.route = %route,
            http.flavor = ?request.version(),
            http.host = %capped(request.connection_info().host(), TEXT_CHARS),
            // tracing-actix-web believes Forwarded/X-Forwarded-For from
            // anyone; log the peer, which no client can forge.
            http.client_ip = Empty,
            http.user_agent = %capped(user_agent, TEXT_CHARS),
            // The query string could carry a secret: the path only.
            http.target = %capped(request.path(), TEXT_CHARS),
            http.status_code = Empty,
            otel.name = %format!("{method} {route}"),
            otel.kind = "server",
            otel.status_code = Empty,
            request_id = %request_id,
            exception.message = Empty,
            exception.details = Empty,
            user = Empty,
            session = Empty,
        );
        if let Some(peer) = request.peer_addr() {
            span.record("http.client_ip", tracing::field::display(peer.ip()));
        }
        span
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, error) = match outcome {
            Ok(response) => (
                response.status(),
                response.response().error().map(Error::as_response_error),
            ),
            Err(error) => (
                error.as_response_error().status_code(),
                Some(error.as_response_error()),
            ),
        };
        span.record("http.status_code", status.as_u16());
        span.record("otel.status_code", otel_status(status, error.is_some()));
        if let Some(error) = error {
            record_error(&span, error);
        }
    }
}

/// `OK`, or `ERROR` for a server error (a client's is not ours).
fn otel_status(status: StatusCode, failed: bool) -> &'static str {
    if failed && !status.is_client_error() {
        "ERROR"
    } else {
        "OK"
    }
}

fn record_error(span: &Span, error: &dyn ResponseError) {
    let message = error.to_string();
    let details = format!("{error:?}");
    span.record("exception.message", &*capped(&message, ERROR_CHARS));
    span.record("exception.details", &*capped(&details, ERROR_CHARS));
}

/// One log line per request: method, path (never the query string, which
/// could carry a secret), status and latency, inside the request's span.
/// The method and URI are kept as they came (a standard method is a
/// value, the URI shares the request's bytes: no copy) and capped only
/// when the line is written. (Not the `HttpRequest` itself: a second
/// handle on it before routing would stop the router from filling in the
/// path's parameters.)
pub async fn access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let outcome = next.call(req).await;
    let status = match &outcome {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let method = || capped(method.as_str(), METHOD_CHARS);
    let path = || capped(uri.path(), TEXT_CHARS);
    if status.is_server_error() {
        tracing::warn!(method = %method(), path = %path(), status = status.as_u16(), latency_ms, "request");
    } else {
        tracing::info!(method = %method(), path = %path(), status = status.as_u16(), latency_ms, "request");
    }
    outcome
}
