//! actix's HTTP/1 layer logs a client's broken request (a header line
//! without a colon, a body cut short, a head too large) and a peer's reset
//! at ERROR, from its own code, before any of ours runs. ERROR is for our
//! failures: [`ClientFaults`] turns those lines into one WARN line each,
//! under the target `http`, with actix's words capped.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use super::capped;

/// The start of each message actix-http logs at ERROR for a client's
/// mistake (its parser's errors and the I/O errors of a connection, all
/// written as `stream error: …`, and the payload decoder's complaints).
/// Its other ERROR lines (a response body of ours failing, a service
/// that will not start) stay ERROR.
const CLIENT_FAULTS: [&str; 4] = [
    "stream error",
    "Internal server error: unexpected",
    "MAX_BUFFER_SIZE unprocessed data reached",
    "write zero",
];

/// Whether an event from `target` at `level` saying `message` is actix
/// telling of a client's mistake.
pub fn is_client_fault(target: &str, level: Level, message: &str) -> bool {
    level == Level::ERROR
        && target.starts_with("actix_http::h1::")
        && CLIENT_FAULTS.iter().any(|start| message.starts_with(start))
}

/// The layer: a client fault is not recorded as it came, but logged again
/// at WARN.
pub struct ClientFaults;

impl<S: Subscriber> Layer<S> for ClientFaults {
    fn event_enabled(&self, event: &Event<'_>, _: Context<'_, S>) -> bool {
        let meta = event.metadata();
        if *meta.level() != Level::ERROR || !meta.target().starts_with("actix_http::") {
            return true;
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        if !is_client_fault(meta.target(), *meta.level(), &message.0) {
            return true;
        }
        // Dispatched anew through the process's subscriber (this is a
        // WARN, which passes here).
        tracing::warn!(
            target: "http",
            error = %capped(&message.0, 256),
            "a client sent a broken request or broke its connection"
        );
        false
    }
}

/// An event's `message` field, as text.
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            value.clone_into(&mut self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actix_parse_and_connection_errors_are_client_faults_its_others_are_not() {
        let dispatcher = "actix_http::h1::dispatcher";
        for message in [
            "stream error: Parse error: Invalid Header provided",
            "stream error: I/O error: Connection reset by peer (os error 104)",
            "Internal server error: unexpected eof",
        ] {
            assert!(
                is_client_fault(dispatcher, Level::ERROR, message),
                "{message}"
            );
            assert!(
                !is_client_fault(dispatcher, Level::WARN, message),
                "{message}"
            );
        }
        assert!(is_client_fault(
            "actix_http::h1::decoder",
            Level::ERROR,
            "MAX_BUFFER_SIZE unprocessed data reached, closing"
        ));
        for message in [
            "Response payload stream error: boom",
            "Initialization of HTTP service error: ()",
        ] {
            assert!(
                !is_client_fault(dispatcher, Level::ERROR, message),
                "{message}"
            );
        }
        assert!(!is_client_fault(
            "service_kit::db",
            Level::ERROR,
            "stream error"
        ));
    }
}
