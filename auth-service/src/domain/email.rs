//! An account's email address, normalised the one way the contract allows
//! (its domain in one form, Unicode or A-label alike), and refused when it
//! could pass for someone else's ([`super::lookalike`]).

use std::borrow::Cow;
use std::fmt;

use idna::uts46::{AsciiDenyList, Hyphens, Uts46};
use unicode_normalization::UnicodeNormalization;

use super::lookalike;

pub use shared::api::MAX_EMAIL_CHARS;

/// A syntactically valid email: trimmed, NFKC-normalised, lower-cased,
/// its domain in Unicode (UTS #46 ToUnicode), without invisible
/// characters, hidden marks or scripts mixed inside a part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Trims, NFKC-normalises and lower-cases `raw` (so a fullwidth
    /// `ａｄａ` is `ada`, and `zoë` typed with a combining diaeresis is the
    /// same address as with `ë`), brings the domain to its Unicode form
    /// (`xn--mnchen-3ya.example` is `münchen.example`), then checks it.
    /// The error is the sentence the 422 body shows.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let text = normalise(raw);
        if text.contains('\0') {
            return Err("must not contain a NUL character");
        }
        if text.chars().any(lookalike::is_invisible) {
            return Err("must not contain invisible characters");
        }
        let email = unicode_domain(&text).ok_or("must be a valid email address")?;
        if email.chars().count() > MAX_EMAIL_CHARS {
            return Err("must be at most 254 characters");
        }
        if !is_bare_address(&email) || !is_normal(&email) {
            return Err("must be a valid email address");
        }
        let (local, domain) = email.rsplit_once('@').unwrap_or_default();
        if lookalike::mixes_scripts(local) || domain.split('.').any(lookalike::mixes_scripts) {
            return Err("must not mix scripts (such as Latin and Cyrillic) within a part");
        }
        if lookalike::has_hidden_mark(&email) {
            return Err("must not hold a mark that hides in its letter (such as a dot above i)");
        }
        Ok(Self(email.into_owned()))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the address looks like ([`lookalike::skeleton`]). Two accounts
    /// may not share one, so nobody registers a look-alike of an address
    /// that exists.
    pub fn skeleton(&self) -> String {
        lookalike::skeleton(&self.0)
    }
}

/// Trim, NFKC, lower-case, and NFKC again (lower-casing can leave a
/// string that is not in NFKC). That is its own normal form for every
/// address [`Email::parse`] accepts, which refuses any that is not: NFKC
/// can also make a space (U+0385 is a space and two marks), which a
/// second pass would trim.
pub fn normalise(raw: &str) -> String {
    let once: String = raw.trim().nfkc().collect();
    once.to_lowercase().nfkc().collect()
}

/// `address` with its domain in the Unicode form of UTS #46 (ToUnicode,
/// nontransitional, as browsers and mail clients read it): A-labels
/// (`xn--…`) decoded, so a mailbox has one spelling. `None` when the
/// domain is no valid IDNA name (an A-label that does not decode). A
/// domain literal (`[192.0.2.1]`) is left as it is.
pub fn unicode_domain(address: &str) -> Option<Cow<'_, str>> {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Some(Cow::Borrowed(address));
    };
    if domain.starts_with('[') {
        return Some(Cow::Borrowed(address));
    }
    let (unicode, checked) =
        Uts46::new().to_unicode(domain.as_bytes(), AsciiDenyList::EMPTY, Hyphens::Allow);
    checked.ok()?;
    Some(match unicode {
        Cow::Borrowed(same) if same == domain => Cow::Borrowed(address),
        other => Cow::Owned(format!("{local}@{other}")),
    })
}

/// Whether normalising `email` again (text, then domain) leaves it as it
/// is.
fn is_normal(email: &str) -> bool {
    let text = normalise(email);
    text == email && unicode_domain(&text).is_some_and(|again| again == email)
}

/// An address alone: not quoted, and not `Name <address>`, which the
/// `email_address` crate accepts by default.
fn is_bare_address(email: &str) -> bool {
    let options = email_address::Options::default().without_display_text();
    email_address::EmailAddress::parse_with_options(email, options).is_ok()
        && !email.starts_with('"')
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests;
