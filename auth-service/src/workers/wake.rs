//! Wakes the runners as soon as an outbox row is committed: the `outbox`
//! and `event_outbox` triggers notify the `outbox` channel (with `event`
//! for the latter), and a listener thread (`service_kit::db::listen`)
//! passes each notification to the runner it concerns. The runners poll
//! as well, so a lost notification costs at most a poll.

use std::sync::{Arc, Weak};

use secrecy::SecretString;
use service_kit::db::listen::{self, Listener};
use tokio::sync::Notify;

/// The channel the triggers notify on.
pub const CHANNEL: &str = "outbox";
/// How the listener's connection shows in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "auth-service outbox listener";
/// The payload of the `event_outbox` trigger.
const EVENT: &str = "event";

/// Whom to wake: the mail runner and/or the event runner.
#[derive(Default)]
pub struct Wakers {
    pub mail: Option<Arc<Notify>>,
    pub events: Option<Arc<Notify>>,
}

struct Waker {
    mail: Option<Weak<Notify>>,
    events: Option<Weak<Notify>>,
}

impl Listener for Waker {
    fn heard(&mut self, payload: &str) {
        let target = if payload == EVENT {
            &self.events
        } else {
            &self.mail
        };
        if let Some(wake) = target.as_ref().and_then(Weak::upgrade) {
            wake.notify_one();
        }
    }

    fn is_done(&self) -> bool {
        [&self.mail, &self.events]
            .into_iter()
            .flatten()
            .all(|wake| wake.strong_count() == 0)
    }
}

/// Starts the listener thread; it ends when every runner's `Notify` is
/// dropped.
pub fn spawn(database_url: SecretString, wakers: &Wakers) -> std::io::Result<()> {
    listen::spawn(
        "outbox-listener",
        database_url,
        CHANNEL,
        APPLICATION_NAME,
        Waker {
            mail: wakers.mail.as_ref().map(Arc::downgrade),
            events: wakers.events.as_ref().map(Arc::downgrade),
        },
    )
}
