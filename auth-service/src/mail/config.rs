//! The mail variables: where mail goes (`SMTP_URL`), who it is from, where
//! its links point, and what verification asks of an account.

use std::str::FromStr;
use std::time::Duration;

use lettre::message::Mailbox;
use secrecy::{ExposeSecret, SecretString};
use service_kit::config::EnvReader;
use url::Url;

/// `EMAIL_VERIFICATION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailVerification {
    /// Accounts are verified at signup; no verification mail.
    Off,
    /// A verification mail is sent; login works before it is used.
    Optional,
    /// Login of an unverified account is refused once the password is right.
    Required,
}

impl FromStr for EmailVerification {
    type Err = &'static str;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_lowercase().as_str() {
            "off" => Ok(Self::Off),
            "optional" => Ok(Self::Optional),
            "required" => Ok(Self::Required),
            _ => Err("use off, optional or required"),
        }
    }
}

/// How to reach the SMTP server, from `SMTP_URL`.
#[derive(Clone)]
pub struct SmtpUrl {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub credentials: Option<(String, SecretString)>,
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// The transport security `SMTP_URL` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// `smtp://host:port`: STARTTLS, required.
    StartTls,
    /// `smtps://host:port`: TLS from the first byte.
    Implicit,
    /// `smtp://host:port?tls=none`: plain text, for a local catcher.
    None,
}

impl SmtpUrl {
    /// Parses `smtp://user:pass@host:587`, `smtps://…:465` or
    /// `smtp://host:port?tls=none`. The error never repeats the URL (it may
    /// hold a password).
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = Url::parse(text.trim()).map_err(|error| format!("is not a URL ({error})"))?;
        let tls = match (url.scheme(), query_tls(&url)?) {
            ("smtp", None) => SmtpTls::StartTls,
            ("smtp", Some("none")) => SmtpTls::None,
            ("smtps", None) => SmtpTls::Implicit,
            ("smtp" | "smtps", Some(other)) => {
                return Err(format!(
                    "has tls={other}: the only tls setting is tls=none on smtp://"
                ));
            }
            (scheme, _) => return Err(format!("has scheme {scheme}: use smtp:// or smtps://")),
        };
        let host = url
            .host_str()
            .filter(|host| !host.is_empty())
            .ok_or("names no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = url.port().unwrap_or(match tls {
            SmtpTls::Implicit => 465,
            SmtpTls::StartTls | SmtpTls::None => 587,
        });
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            (user, password) => {
                let decode = |part: &str| {
                    percent_encoding::percent_decode_str(part)
                        .decode_utf8()
                        .map(|text| text.into_owned())
                        .map_err(|_| "has a user or password that is not UTF-8".to_owned())
                };
                Some((
                    decode(user)?,
                    SecretString::from(decode(password.unwrap_or(""))?),
                ))
            }
        };
        Ok(Self {
            host,
            port,
            tls,
            credentials,
        })
    }
}

fn query_tls(url: &Url) -> Result<Option<&str>, String> {
    let mut tls = None;
    for (key, _) in url.query_pairs() {
        if key != "tls" {
            return Err(format!("has ?{key}=: the only parameter is tls=none"));
        }
    }
    if let Some(query) = url.query() {
        for pair in query.split('&') {
            if let Some(value) = pair.strip_prefix("tls=") {
                tls = Some(value);
            }
        }
    }
    Ok(tls)
}

/// Everything mail needs; absent when `SMTP_URL` is empty (no mail).
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `SMTP_URL` (or `SMTP_URL_FILE`).
    pub smtp: SmtpUrl,
    /// `MAIL_FROM`.
    pub from: Mailbox,
    /// `APP_URL`: links in mails are `APP_URL/verify#token=…` and
    /// `APP_URL/reset-password#token=…`.
    pub app_url: Url,
    /// `APP_NAME`.
    pub app_name: String,
}

/// The mail settings and the account rules that depend on them.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `None`: no `SMTP_URL`, so no mail at all.
    pub mail: Option<MailConfig>,
    /// `EMAIL_VERIFICATION`.
    pub verification: EmailVerification,
    /// `VERIFY_TOKEN_TTL_MINUTES`.
    pub verify_ttl: Duration,
    /// `RESET_TOKEN_TTL_MINUTES`.
    pub reset_ttl: Duration,
    /// `MAIL_INTERVAL_SECONDS`.
    pub interval: Duration,
}

impl MailSettings {
    /// Reads the mail variables, recording each problem in `env`.
    pub fn read(env: &mut EnvReader) -> Self {
        let url = env.secret_or_file("SMTP_URL");
        let from = env.parse_or::<String>("MAIL_FROM", String::new());
        let app_url = env.parse_or::<String>("APP_URL", String::new());
        let app_name = env.parse_or("APP_NAME", "Example".to_owned());
        let has_url = url.is_some() || env.names_problem("SMTP_URL");
        let mail = url.and_then(|url| {
            let smtp = SmtpUrl::parse(url.expose_secret())
                .map_err(|problem| env.problem(format!("SMTP_URL {problem}")))
                .ok();
            let from = match from.parse::<Mailbox>() {
                Ok(mailbox) => Some(mailbox),
                Err(_) if from.is_empty() => {
                    env.problem("MAIL_FROM is required with SMTP_URL");
                    None
                }
                Err(error) => {
                    env.problem(format!("MAIL_FROM={from:?} is not a mailbox: {error}"));
                    None
                }
            };
            let app_url = match Url::parse(&app_url) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => Some(url),
                _ if app_url.is_empty() => {
                    env.problem("APP_URL is required with SMTP_URL");
                    None
                }
                _ => {
                    env.problem(format!("APP_URL={app_url:?} is not an http(s) URL"));
                    None
                }
            };
            Some(MailConfig {
                smtp: smtp?,
                from: from?,
                app_url: app_url?,
                app_name: app_name.clone(),
            })
        });
        let default = if has_url {
            EmailVerification::Optional
        } else {
            EmailVerification::Off
        };
        let verification = env.parse_or("EMAIL_VERIFICATION", default);
        if verification != EmailVerification::Off && default == EmailVerification::Off {
            env.problem(
                "EMAIL_VERIFICATION needs SMTP_URL: without mail no address can be verified",
            );
        }
        Self {
            mail,
            verification,
            verify_ttl: Duration::from_secs(
                60 * env.number_in("VERIFY_TOKEN_TTL_MINUTES", 1440, 1, 43_200),
            ),
            reset_ttl: Duration::from_secs(
                60 * env.number_in("RESET_TOKEN_TTL_MINUTES", 60, 1, 10_080),
            ),
            interval: Duration::from_secs(env.number_in("MAIL_INTERVAL_SECONDS", 60, 0, 86_400)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_three_url_forms_and_their_security() {
        let url = SmtpUrl::parse("smtp://ada:p%40ss@mail.example:587").unwrap();
        assert_eq!(
            (url.host.as_str(), url.port, url.tls),
            ("mail.example", 587, SmtpTls::StartTls)
        );
        let (user, password) = url.credentials.unwrap();
        assert_eq!((user.as_str(), password.expose_secret()), ("ada", "p@ss"));
        let url = SmtpUrl::parse("smtps://mail.example").unwrap();
        assert_eq!((url.port, url.tls), (465, SmtpTls::Implicit));
        let url = SmtpUrl::parse("smtp://127.0.0.1:1025?tls=none").unwrap();
        assert_eq!(
            (url.port, url.tls, url.credentials.is_none()),
            (1025, SmtpTls::None, true)
        );
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_a_password() {
        for bad in [
            "http://mail.example",
            "smtp://u:secret@mail.example?tls=maybe",
            "smtp://u:secret@mail.example?x=1",
            "smtps://u:secret@mail.example?tls=none",
            "not a url secret",
        ] {
            let problem = SmtpUrl::parse(bad).err().unwrap();
            assert!(!problem.contains("secret"), "{bad}: {problem}");
        }
    }

    #[test]
    fn verification_needs_mail_and_defaults_by_it() {
        let read = |pairs: &[(&str, &str)]| {
            let mut env = EnvReader::from_pairs(pairs.iter().copied());
            let settings = MailSettings::read(&mut env);
            (settings, env.finish())
        };
        let (settings, ok) = read(&[]);
        assert!(ok.is_ok() && settings.mail.is_none());
        assert_eq!(settings.verification, EmailVerification::Off);
        let (_, refused) = read(&[("EMAIL_VERIFICATION", "required")]);
        assert!(refused.is_err());
        let (settings, ok) = read(&[
            ("SMTP_URL", "smtp://127.0.0.1:2525?tls=none"),
            ("MAIL_FROM", "Example <no-reply@example.com>"),
            ("APP_URL", "https://app.example"),
        ]);
        assert!(ok.is_ok());
        assert_eq!(settings.verification, EmailVerification::Optional);
        let (_, missing) = read(&[("SMTP_URL", "smtp://127.0.0.1:2525?tls=none")]);
        let line = missing.err().unwrap().to_string();
        assert!(
            line.contains("MAIL_FROM") && line.contains("APP_URL"),
            "{line}"
        );
    }
}
