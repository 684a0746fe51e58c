//! Wakes the runner as soon as an outbox row is committed: the `outbox`
//! table's trigger notifies the `outbox` channel, and a listener thread
//! (`service_kit::db::listen`) passes each notification on. The runner
//! polls as well, so a lost notification costs at most a poll.

use std::sync::{Arc, Weak};

use secrecy::SecretString;
use service_kit::db::listen::{self, Listener};
use tokio::sync::Notify;

/// The channel the `outbox` trigger notifies on.
pub const CHANNEL: &str = "outbox";
/// How the listener's connection shows in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "auth-service outbox listener";

struct Waker(Weak<Notify>);

impl Listener for Waker {
    fn heard(&mut self, _: &str) {
        if let Some(wake) = self.0.upgrade() {
            wake.notify_one();
        }
    }

    fn is_done(&self) -> bool {
        self.0.strong_count() == 0
    }
}

/// Starts the listener thread; it ends when `wake` is dropped.
pub fn spawn(database_url: SecretString, wake: &Arc<Notify>) -> std::io::Result<()> {
    listen::spawn(
        "outbox-listener",
        database_url,
        CHANNEL,
        APPLICATION_NAME,
        Waker(Arc::downgrade(wake)),
    )
}
