//! A thread that `LISTEN`s on one channel on a connection of its own and
//! hands each notification to a [`Listener`], reconnecting with back-off
//! when the connection is lost. diesel exposes libpq's notification queue
//! but not its socket, so the thread reads the queue every [`POLL`] (a
//! non-blocking read, no round trip). TCP keepalives and
//! `tcp_user_timeout` ([`with_link_checks`]) end a link that hangs.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use secrecy::{ExposeSecret, SecretString};

/// How often the queue is read.
pub const POLL: Duration = Duration::from_millis(10);
/// libpq settings that end a connection whose peer went silent, added to
/// `DATABASE_URL` unless it sets them itself.
const LINK_CHECKS: [(&str, &str); 5] = [
    ("connect_timeout", "5"),
    ("keepalives_idle", "5"),
    ("keepalives_interval", "2"),
    ("keepalives_count", "2"),
    ("tcp_user_timeout", "5000"),
];
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// What the thread serves.
pub trait Listener: Send + 'static {
    /// A notification arrived with `payload`.
    fn heard(&mut self, payload: &str);
    /// Whether the thread should end (what it served is gone).
    fn is_done(&self) -> bool;
}

/// Starts the thread named `name`, listening on `channel` as
/// `application_name`.
pub fn spawn(
    name: &str,
    database_url: SecretString,
    channel: &'static str,
    application_name: &'static str,
    mut listener: impl Listener,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let mut retry = RETRY_MIN;
            while !listener.is_done() {
                match connect(&database_url, channel, application_name) {
                    Ok(mut conn) => {
                        retry = RETRY_MIN;
                        if let Err(error) = follow(&mut conn, &mut listener) {
                            tracing::warn!(%error, channel, "listener lost its connection");
                        }
                    }
                    Err(error) => tracing::warn!(%error, channel, "listener cannot connect"),
                }
                std::thread::sleep(retry);
                retry = (retry * 2).min(RETRY_MAX);
            }
        })
        .map(drop)
}

fn connect(
    database_url: &SecretString,
    channel: &str,
    application_name: &str,
) -> Result<PgConnection, Box<dyn std::error::Error>> {
    let mut conn = PgConnection::establish(&with_link_checks(database_url.expose_secret()))?;
    conn.batch_execute(&format!(
        "SET application_name = '{application_name}'; LISTEN {channel}"
    ))?;
    Ok(conn)
}

/// `url` (a URI or a `key=value` string) with [`LINK_CHECKS`] added.
pub fn with_link_checks(url: &str) -> String {
    let uri = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let mut url = url.to_owned();
    for (key, value) in LINK_CHECKS {
        if url.contains(&format!("{key}=")) {
            continue;
        }
        let separator = match (uri, url.contains('?')) {
            (true, true) => '&',
            (true, false) => '?',
            (false, _) => ' ',
        };
        url = format!("{url}{separator}{key}={value}");
    }
    url
}

/// Hands over notifications until the connection fails (`Err`) or the
/// listener is done (`Ok`).
fn follow(conn: &mut PgConnection, listener: &mut impl Listener) -> diesel::QueryResult<()> {
    let mut checked = std::time::Instant::now();
    while !listener.is_done() {
        let mut heard = 0;
        for notification in conn.notifications_iter() {
            listener.heard(&notification?.payload);
            heard += 1;
        }
        // A dead link shows only when something is sent on it.
        if checked.elapsed() >= Duration::from_secs(5) {
            conn.batch_execute("SELECT 1")?;
            checked = std::time::Instant::now();
        }
        if heard == 0 {
            std::thread::sleep(POLL);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::with_link_checks;

    #[test]
    fn link_checks_are_added_to_both_url_forms_without_overriding_the_user() {
        assert_eq!(
            with_link_checks("postgres://u@h/db"),
            "postgres://u@h/db?connect_timeout=5&keepalives_idle=5&keepalives_interval=2\
             &keepalives_count=2&tcp_user_timeout=5000"
        );
        assert_eq!(
            with_link_checks("postgresql://u@h/db?sslmode=require&connect_timeout=1"),
            "postgresql://u@h/db?sslmode=require&connect_timeout=1&keepalives_idle=5\
             &keepalives_interval=2&keepalives_count=2&tcp_user_timeout=5000"
        );
        assert_eq!(
            with_link_checks("host=h dbname=db"),
            "host=h dbname=db connect_timeout=5 keepalives_idle=5 keepalives_interval=2 \
             keepalives_count=2 tcp_user_timeout=5000"
        );
    }
}
