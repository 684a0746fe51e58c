//! The shapes of second-factor codes, and checking a TOTP code (RFC 6238
//! through `totp-rs`: SHA-1, 6 digits, 30 s, one step of skew) so that it
//! is accepted once: the time step it matched is returned, and a step not
//! after the last one used is refused.

use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

/// Digits of a TOTP code.
pub const DIGITS: usize = 6;
/// Seconds of a time step.
pub const STEP: u64 = 30;
/// Steps of skew allowed either way.
pub const SKEW: u8 = 1;
/// Characters of a recovery code.
pub const RECOVERY_LEN: usize = 10;
/// The recovery code alphabet (RFC 4648 base32, lower case): 32 symbols,
/// 5 bits each, 50 bits a code.
pub const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A code as a client sent it, sorted by shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// Six ASCII digits.
    Totp(String),
    /// Ten characters of the recovery alphabet, lower-cased.
    Recovery(String),
}

impl Code {
    /// The code `raw` (surrounding whitespace ignored), if it has either
    /// shape.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if raw.len() == DIGITS && raw.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Self::Totp(raw.to_owned()));
        }
        let lower = raw.to_ascii_lowercase();
        if lower.len() == RECOVERY_LEN && lower.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)) {
            return Some(Self::Recovery(lower));
        }
        None
    }
}

/// The `totp-rs` generator of `secret` (unchecked: the length was checked
/// at enrolment).
fn generator(secret: &[u8]) -> TOTP {
    TOTP::new_unchecked(
        Algorithm::SHA1,
        DIGITS,
        SKEW,
        STEP,
        secret.to_vec(),
        None,
        String::new(),
    )
}

/// The time step (unix seconds / 30) at which `code` is `secret`'s code,
/// within one step of `now`, and after `last_used` (a code of that step or
/// an earlier one was accepted already, or is older); `None` otherwise.
pub fn matching_step(secret: &[u8], code: &str, now: u64, last_used: Option<i64>) -> Option<i64> {
    let totp = generator(secret);
    let current = now / STEP;
    let mut found = None;
    for step in current.saturating_sub(u64::from(SKEW))..=current + u64::from(SKEW) {
        let expected = totp.generate(step * STEP);
        let matches: bool = expected.as_bytes().ct_eq(code.as_bytes()).into();
        let Ok(step) = i64::try_from(step) else {
            continue;
        };
        if matches && last_used.is_none_or(|last| step > last) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// RFC 6238 Appendix B's SHA-1 secret, and its 8-digit values cut to
    /// the last six digits.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc_6238_vectors_match_in_their_step() {
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
        ] {
            let step = i64::try_from(time / STEP).unwrap();
            assert_eq!(
                matching_step(RFC_SECRET, code, time, None),
                Some(step),
                "{time}"
            );
        }
    }

    #[test]
    fn one_step_of_skew_either_way_and_no_more() {
        let time = 1_234_567_890;
        assert!(matching_step(RFC_SECRET, "005924", time + STEP, None).is_some());
        assert!(matching_step(RFC_SECRET, "005924", time - STEP, None).is_some());
        assert!(matching_step(RFC_SECRET, "005924", time + 2 * STEP, None).is_none());
    }

    #[test]
    fn a_used_step_is_refused() {
        let time = 1_234_567_890;
        let step = matching_step(RFC_SECRET, "005924", time, None).unwrap();
        assert_eq!(matching_step(RFC_SECRET, "005924", time, Some(step)), None);
        assert_eq!(
            matching_step(RFC_SECRET, "005924", time, Some(step + 1)),
            None
        );
    }

    #[test]
    fn codes_parse_by_shape() {
        assert_eq!(Code::parse(" 012345 "), Some(Code::Totp("012345".into())));
        assert_eq!(
            Code::parse("ABCDE23456"),
            Some(Code::Recovery("abcde23456".into()))
        );
        for bad in [
            "12345",
            "1234567",
            "abcdef",
            "abcde2345",
            "abcde23458",
            "１２３４５６",
            "",
        ] {
            assert_eq!(Code::parse(bad), None, "{bad}");
        }
    }
}
