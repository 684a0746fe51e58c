//! The dev stack's SMTP catcher: a local SMTP server (mailin-embedded)
//! that the auth service sends its mail to, and that prints each mail's
//! recipient, subject and link, so a developer can click through
//! verification and recovery with no mail set up. Nothing is delivered.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use mail_parser::MessageParser;
use mailin_embedded::{Handler, Response, Server, SslConfig, response};

/// Why the catcher did not start.
#[derive(Debug, thiserror::Error)]
pub enum CatcherError {
    #[error("cannot listen on {0}")]
    Listen(SocketAddr, #[source] std::io::Error),
    #[error("cannot set up the SMTP catcher: {0}")]
    Setup(String),
}

/// What the catcher does with each mail: (envelope recipients, raw bytes).
pub type OnMail = Arc<dyn Fn(&[String], &[u8]) + Send + Sync>;

/// Starts the catcher on `addr` (port 0: the kernel's choice), printing
/// each mail; returns the address it listens on.
pub fn start(addr: SocketAddr) -> Result<SocketAddr, CatcherError> {
    start_with(addr, Arc::new(print))
}

/// Starts a catcher on `addr` in a thread of its own that hands each mail
/// to `on_mail` (the benchmark counts them).
pub fn start_with(addr: SocketAddr, on_mail: OnMail) -> Result<SocketAddr, CatcherError> {
    let listener = TcpListener::bind(addr).map_err(|error| CatcherError::Listen(addr, error))?;
    let bound = listener
        .local_addr()
        .map_err(|error| CatcherError::Listen(addr, error))?;
    let mut server = Server::new(Collector {
        on_mail,
        to: Vec::new(),
        data: Vec::new(),
    });
    server
        .with_name("devstack")
        .with_ssl(SslConfig::None)
        .map_err(|error| CatcherError::Setup(error.to_string()))?
        // A session holds its thread until the client quits, and a sender
        // keeps a few connections open: room for several senders at once.
        .with_num_threads(32)
        .with_tcp_listener(listener);
    std::thread::Builder::new()
        .name("mail-catcher".into())
        .spawn(move || {
            if let Err(error) = server.serve() {
                tracing::error!(%error, "the SMTP catcher stopped");
            }
        })
        .map_err(|error| CatcherError::Setup(error.to_string()))?;
    Ok(bound)
}

/// Collects one mail's bytes and hands them on once whole.
#[derive(Clone)]
struct Collector {
    on_mail: OnMail,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Collector {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        (self.on_mail)(&self.to, &self.data);
        response::OK
    }
}

fn print(to: &[String], raw: &[u8]) {
    let block = describe(to, raw);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(block.as_bytes());
    let _ = out.flush();
}

/// What a person needs of a mail: who it is for, what it says, where its
/// link goes.
fn describe(to: &[String], raw: &[u8]) -> String {
    let message = MessageParser::default().parse(raw);
    let subject = message
        .as_ref()
        .and_then(|m| m.subject())
        .unwrap_or("(no subject)")
        .to_owned();
    let text = message
        .as_ref()
        .and_then(|m| m.body_text(0))
        .map(|text| text.into_owned())
        .unwrap_or_default();
    let link = text
        .split_whitespace()
        .find(|word| word.starts_with("http://") || word.starts_with("https://"));
    let mut block = format!("\n✉  mail to {}: {subject}\n", to.join(", "));
    if let Some(link) = link {
        block.push_str(&format!("   {link}\n"));
    }
    block.push('\n');
    block
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn a_mail_is_described_by_recipient_subject_and_link() {
        let raw = b"Subject: Reset your Example password\r\n\
            Content-Type: text/plain; charset=utf-8\r\n\
            Content-Transfer-Encoding: quoted-printable\r\n\r\n\
            Open this link:\r\n\r\nhttp://localhost:3000/reset-password#token=3Dabc\r\n";
        let block = describe(&["ada@example.com".into()], raw);
        assert!(
            block.contains("mail to ada@example.com: Reset your Example password"),
            "{block}"
        );
        assert!(
            block.contains("http://localhost:3000/reset-password#token=abc"),
            "{block}"
        );
    }
}
