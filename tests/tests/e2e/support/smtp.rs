//! A real SMTP server for the tests: aiosmtpd (Debian's python3-aiosmtpd)
//! running `smtp_sink.py`, which writes each mail it accepts to a folder
//! and refuses recipients named `reject…` with a 550. Tests read the mails
//! that arrived, and may stop and start the server on its port.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::tools::AIOSMTPD;

/// How long a helper waits for a mail before it fails the test.
pub const MAIL_WAIT: Duration = Duration::from_secs(20);

/// A running SMTP sink and the mails it received.
pub struct SmtpSink {
    python: PathBuf,
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

/// One mail as it arrived.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The envelope recipient.
    pub to: String,
    pub subject: String,
    /// The plain-text and HTML parts, decoded.
    pub text: String,
}

impl Mail {
    /// The token of the link in the mail (`…#token=<43 characters>`).
    pub fn token(&self) -> Option<String> {
        let start = self.text.find("#token=")? + "#token=".len();
        let token: String = self.text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        (token.len() == 43).then_some(token)
    }
}

impl SmtpSink {
    /// Starts the sink on a port the kernel picks; `None` (the test is
    /// skipped, see `support::tools`) without python3-aiosmtpd.
    pub fn start() -> Option<Self> {
        let python = AIOSMTPD.required()?;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut sink = Self {
            python,
            child: None,
            port: 0,
            dir,
        };
        sink.spawn();
        Some(sink)
    }

    fn spawn(&mut self) {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/support/smtp_sink.py");
        let mut child = Command::new(&self.python)
            .arg(&script)
            .arg(self.dir.path().join("mail"))
            .arg(self.port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the SMTP sink ({:?}): {e}", self.python));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("{e}"));
        let port = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "the SMTP sink did not start (is python3-aiosmtpd installed? apt-get install python3-aiosmtpd): {line:?}"
                )
            });
        self.port = port;
        self.child = Some(child);
    }

    /// `SMTP_URL` for the auth service.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// Stops the server (kill); mail sent meanwhile cannot arrive.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port.
    pub fn start_again(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Every mail received so far, in arrival order.
    pub fn mails(&self) -> Vec<Mail> {
        let Ok(entries) = std::fs::read_dir(self.dir.path().join("mail")) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
            .collect();
        paths.sort();
        paths
            .iter()
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .map(|raw| parse(&raw))
            .collect()
    }

    /// The mails to `to`.
    pub fn mails_to(&self, to: &str) -> Vec<Mail> {
        self.mails()
            .into_iter()
            .filter(|mail| mail.to == to)
            .collect()
    }

    /// Waits (up to `limit`) until `to` has at least `count` mails.
    pub async fn wait_for(&self, to: &str, count: usize, limit: Duration) -> Vec<Mail> {
        let started = Instant::now();
        loop {
            let mails = self.mails_to(to);
            if mails.len() >= count {
                return mails;
            }
            if started.elapsed() > limit {
                panic!(
                    "{to} got {} mails within {limit:?}, expected {count}",
                    mails.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A mail as a client would read it (mail-parser: headers decoded, the
/// quoted-printable body undone).
fn parse(raw: &str) -> Mail {
    let message = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap_or_else(|| panic!("the sink stored a mail that does not parse: {raw}"));
    let to = raw
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("X-Envelope-To: "))
        .unwrap_or_default()
        .trim()
        .to_owned();
    let text = (0..message.text_body_count())
        .filter_map(|part| message.body_text(part))
        .chain(message.body_html(0))
        .collect::<Vec<_>>()
        .join("\n");
    Mail {
        to,
        subject: message.subject().unwrap_or_default().to_owned(),
        text,
    }
}
