//! What each mail says: a plain-text part and an HTML part, in English,
//! naming the app by `APP_NAME`. Links carry the token in the fragment
//! (`APP_URL/verify#token=…`), so it never reaches a server's log.

use lettre::message::{Mailbox, MultiPart};

use crate::jobs::Message;
use crate::mail::config::MailConfig;

/// A mail ready for the SMTP client.
pub fn render(
    config: &MailConfig,
    to: Mailbox,
    message: &Message,
) -> Result<lettre::Message, lettre::error::Error> {
    let app = &config.app_name;
    let (subject, lines, link) = match message {
        Message::Verify { token } => (
            format!("Confirm your email address for {app}"),
            vec![
                format!("Someone, hopefully you, signed up to {app} with this address."),
                "Confirm it by opening this link:".to_owned(),
            ],
            Some(("Confirm my address", link(config, "verify", token))),
        ),
        Message::Reset { token } => (
            format!("Reset your {app} password"),
            vec![
                format!("Someone asked to reset the password of your {app} account."),
                "Choose a new password by opening this link (it works once):".to_owned(),
            ],
            Some((
                "Choose a new password",
                link(config, "reset-password", token),
            )),
        ),
        Message::PasswordChanged => (
            format!("Your {app} password was changed"),
            vec![
                format!("The password of your {app} account was just changed."),
                "If this was not you, reset your password at once and check your sessions."
                    .to_owned(),
            ],
            None,
        ),
    };
    let mut plain = lines.join("\n\n");
    let mut html = lines
        .iter()
        .map(|line| format!("<p>{}</p>", escape(line)))
        .collect::<String>();
    if let Some((label, url)) = link {
        plain.push_str(&format!("\n\n{url}\n"));
        html.push_str(&format!(
            "<p><a href=\"{href}\">{label}</a></p><p>{href}</p>",
            href = escape(&url),
            label = escape(label),
        ));
    }
    plain.push_str("\nIf you did not ask for this, you can ignore this mail.\n");
    html.push_str("<p>If you did not ask for this, you can ignore this mail.</p>");
    lettre::Message::builder()
        .from(config.from.clone())
        .to(to)
        .subject(subject)
        .multipart(MultiPart::alternative_plain_html(
            plain,
            format!("<!doctype html><html><body>{html}</body></html>"),
        ))
}

/// `APP_URL/<path>#token=<token>`.
fn link(config: &MailConfig, path: &str, token: &str) -> String {
    let base = config.app_url.as_str().trim_end_matches('/');
    format!("{base}/{path}#token={token}")
}

/// Text made safe to put between HTML tags or in a quoted attribute.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::mail::config::SmtpUrl;

    fn config(app_name: &str) -> MailConfig {
        MailConfig {
            smtp: SmtpUrl::parse("smtp://127.0.0.1:2525?tls=none").unwrap(),
            from: "Example <no-reply@example.com>".parse().unwrap(),
            app_url: "https://app.example/base/".parse().unwrap(),
            app_name: app_name.to_owned(),
        }
    }

    #[test]
    fn the_link_carries_the_token_in_its_fragment() {
        let link = link(&config("Acme"), "reset-password", "abc");
        assert_eq!(link, "https://app.example/base/reset-password#token=abc");
        let message = Message::Reset {
            token: "abc".into(),
        };
        let mail = render(
            &config("Acme"),
            "ada@example.com".parse().unwrap(),
            &message,
        )
        .unwrap();
        let text = String::from_utf8(mail.formatted()).unwrap();
        assert!(text.contains("Subject: Reset your Acme password"), "{text}");
    }

    #[test]
    fn text_cannot_inject_html() {
        assert_eq!(
            escape("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }
}
