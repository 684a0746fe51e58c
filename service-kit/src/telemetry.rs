//! Logging through `tracing`: human-readable on a terminal, one JSON object
//! per line otherwise, with actix's and r2d2's `log` records and panics
//! routed through the same subscriber so no line escapes the format. Each
//! request has a span and one line ([`requests`]); a client's broken
//! request is a WARN, never an ERROR ([`client_faults`]).

mod client_faults;
mod requests;

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

use tracing::Span;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;
pub use client_faults::{ClientFaults, is_client_fault};
pub use requests::{RequestSpan, access_log};

/// Installs the global subscriber (once per process; later calls are
/// ignored, which lets the dev stack run both services in one process).
/// In JSON each line carries the request's span (`request_id`, `user`,
/// `session`) when there is one.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stdout);
    let subscriber = tracing_subscriber::registry()
        .with(filter)
        .with(ClientFaults);
    let installed = match format {
        LogFormat::Pretty => subscriber.with(lines).try_init(),
        LogFormat::Json => subscriber
            .with(
                lines
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
    };
    if installed.is_ok() {
        std::panic::set_hook(Box::new(|info| {
            tracing::error!(panic = %info, "panic");
        }));
    }
}

/// Ties the current request's log lines to `user` and `session` (ids,
/// never tokens).
pub fn record_session(user: uuid::Uuid, session: uuid::Uuid) {
    let span = Span::current();
    span.record("user", tracing::field::display(user));
    span.record("session", tracing::field::display(session));
}

/// `value` as a log line may hold it: at most `max` characters, the cut
/// marked with `…`. For anything a client controls.
pub fn capped(value: &str, max: usize) -> Cow<'_, str> {
    match value.char_indices().nth(max) {
        None => Cow::Borrowed(value),
        Some((end, _)) => Cow::Owned(format!("{}…", &value[..end])),
    }
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

#[cfg(test)]
mod tests {
    use super::capped;

    #[test]
    fn long_client_values_are_cut_and_marked_short_ones_kept() {
        assert_eq!(capped("GET", 16), "GET");
        assert_eq!(
            capped(&"Z".repeat(2000), 16),
            format!("{}…", "Z".repeat(16))
        );
        assert_eq!(capped("ééé", 2), "éé…", "cut at a character, not a byte");
        assert_eq!(capped("", 0), "");
    }
}
