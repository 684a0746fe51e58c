//! An account's email address, normalised the one way the contract allows,
//! and refused when it could pass for someone else's.

use std::fmt;

use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory};
use icu_properties::{CodePointMapData, CodePointSetData};
use unicode_normalization::UnicodeNormalization;
use unicode_security::MixedScript;

pub use shared::api::MAX_EMAIL_CHARS;

/// A syntactically valid email: trimmed, NFKC-normalised, lower-cased,
/// without invisible characters or scripts mixed inside a part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Trims, NFKC-normalises and lower-cases `raw` (so a fullwidth
    /// `ａｄａ` is `ada`, and `zoë` typed with a combining diaeresis is the
    /// same address as with `ë`), then checks it. The error is the
    /// sentence the 422 body shows.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let email = normalise(raw);
        if email.contains('\0') {
            return Err("must not contain a NUL character");
        }
        if email.chars().any(is_invisible) {
            return Err("must not contain invisible characters");
        }
        if email.chars().count() > MAX_EMAIL_CHARS {
            return Err("must be at most 254 characters");
        }
        if !is_bare_address(&email) || normalise(&email) != email {
            return Err("must be a valid email address");
        }
        let (local, domain) = email.rsplit_once('@').unwrap_or_default();
        if !local.is_single_script() || !domain.split('.').all(|label| label.is_single_script()) {
            return Err("must not mix scripts (such as Latin and Cyrillic) within a part");
        }
        Ok(Self(email))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the address looks like: each non-ASCII character replaced by
    /// its Unicode TR39 confusable skeleton (`ı` reads as `i`). Two
    /// accounts may not share one, so nobody registers a look-alike of an
    /// address that exists. ASCII is kept as it is: `rn` and `m` stay two
    /// addresses, as every mail provider treats them.
    pub fn skeleton(&self) -> String {
        let mut skeleton = String::with_capacity(self.0.len());
        for c in self.0.chars() {
            if c.is_ascii() {
                skeleton.push(c);
            } else {
                let one = c.to_string();
                skeleton.extend(unicode_security::skeleton(&one).flat_map(char::to_lowercase));
            }
        }
        skeleton
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

/// An address alone: not quoted, and not `Name <address>`, which the
/// `email_address` crate accepts by default.
fn is_bare_address(email: &str) -> bool {
    let options = email_address::Options::default().without_display_text();
    email_address::EmailAddress::parse_with_options(email, options).is_ok()
        && !email.starts_with('"')
}

/// A character a person cannot see: Unicode format characters (U+200B,
/// U+00AD, ...) and default-ignorable code points (U+034F, U+3164, ...).
fn is_invisible(c: char) -> bool {
    CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
        || CodePointMapData::<GeneralCategory>::new().get(c) == GeneralCategory::Format
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_lower_cases() {
        assert_eq!(
            Email::parse("  Ada.Lovelace@Example.COM \n").map(|e| e.0),
            Ok("ada.lovelace@example.com".to_owned())
        );
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for raw in [
            "",
            "   ",
            "ada",
            "ada@",
            "@example.com",
            "a b@example.com",
            "ada@exa\0mple.com",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} was accepted");
        }
    }

    /// An address of `len` characters: DNS labels of 63, a local part
    /// making up the rest.
    fn address_of(len: usize) -> String {
        let domain = format!(
            "{0}.{1}.{2}.com",
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(63)
        );
        format!("{}@{domain}", "a".repeat(len - 1 - domain.len()))
    }

    #[test]
    fn length_limit_is_inclusive() {
        assert!(Email::parse(&address_of(MAX_EMAIL_CHARS)).is_ok());
        assert_eq!(
            Email::parse(&address_of(MAX_EMAIL_CHARS + 1)),
            Err("must be at most 254 characters")
        );
    }

    #[test]
    fn composed_and_decomposed_forms_are_one_address() {
        assert_eq!(
            Email::parse("zoe\u{308}@example.com"),
            Email::parse("Zo\u{eb}@example.com")
        );
    }

    #[test]
    fn unicode_is_counted_in_characters_not_bytes() {
        assert_eq!(
            Email::parse("Zoë@Example.com").map(|e| e.0),
            Ok("zoë@example.com".to_owned())
        );
    }

    #[test]
    fn compatibility_forms_fold_to_the_plain_address() {
        assert_eq!(
            Email::parse("ａｄａ@ｅｘａｍｐｌｅ.com").map(|e| e.0),
            Ok("ada@example.com".to_owned())
        );
    }

    #[test]
    fn invisible_characters_are_refused() {
        for raw in [
            "ada\u{200b}@example.com",
            "a\u{ad}da@example.com",
            "ada\u{2060}@example.com",
            "ad\u{34f}a@example.com",
            "ada@exam\u{200d}ple.com",
        ] {
            assert_eq!(
                Email::parse(raw),
                Err("must not contain invisible characters"),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn scripts_may_not_mix_inside_a_part_but_may_across_parts() {
        let mixed = "must not mix scripts (such as Latin and Cyrillic) within a part";
        assert_eq!(Email::parse("ad\u{430}@example.com"), Err(mixed));
        assert_eq!(Email::parse("ada@ex\u{430}mple.com"), Err(mixed));
        assert!(Email::parse("\u{430}\u{434}\u{430}@example.com").is_ok());
        assert!(Email::parse("ada@\u{43f}\u{440}\u{438}\u{43c}\u{435}\u{440}.com").is_ok());
        assert!(Email::parse("ada.42+tag@example.com").is_ok());
    }

    #[test]
    fn look_alikes_share_a_skeleton_ascii_addresses_keep_their_own() {
        let skeleton = |raw: &str| Email::parse(raw).map(|e| e.skeleton());
        assert_eq!(
            skeleton("k\u{131}m@example.com"),
            skeleton("kim@example.com")
        );
        assert_eq!(
            skeleton("\u{430}\u{430}\u{430}@example.com"),
            skeleton("aaa@example.com")
        );
        assert_ne!(skeleton("rnary@example.com"), skeleton("mary@example.com"));
    }

    #[test]
    fn display_names_are_refused() {
        for raw in [
            "Ada <ada@example.com>",
            "<ada@example.com>",
            // Found by `fuzz/` (email): NFKC turned U+0385 into a space and
            // two marks, and the display name was taken for an address.
            "\u{385}\u{185}zo <e@oe^mi>",
        ] {
            assert_eq!(
                Email::parse(raw),
                Err("must be a valid email address"),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn a_space_made_by_normalising_is_refused_not_trimmed_away() {
        // U+0385 is a space and two marks under NFKC; trimmed, the marks
        // would float at the start of what reads as `ada@example.com`.
        let raw = "\u{385}ada@example.com";
        assert_ne!(normalise(&normalise(raw)), normalise(raw));
        assert_eq!(Email::parse(raw), Err("must be a valid email address"));
    }

    #[test]
    fn normalising_twice_changes_nothing() {
        for raw in [
            "  ＡＤＡ@Example.com",
            "ǅ@x.io",
            "ﬁ@x.io",
            "İ@x.io",
            "Zoë@x.io",
        ] {
            let once = normalise(raw);
            assert_eq!(normalise(&once), once, "{raw:?}");
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Pieces that make normalising interesting: compatibility forms,
        /// case pairs of different lengths, combining and spacing marks,
        /// invisible characters, other scripts, address punctuation.
        fn piece() -> impl Strategy<Value = &'static str> {
            prop::sample::select(vec![
                "a", "Z", "0", ".", "+", "-", "_", " ", "\"", "ａ", "Ａ", "ﬁ", "ﬀ", "ǅ", "İ", "ß",
                "ẞ", "Σ", "ς", "ϴ", "\u{212a}", "\u{212b}", "\u{308}", "\u{301}", "¨", "´",
                "\u{200b}", "\u{ad}", "а", "д", "α", "ı", "㎏", "①", "ǰ", "ΐ", "\u{1e9e}",
                "\u{3000}", "\u{2126}", "ｰ", "゛", "ｶ", "\u{ff9e}",
            ])
        }

        fn part(max: usize) -> impl Strategy<Value = String> {
            prop::collection::vec(piece(), 1..max).prop_map(|pieces| pieces.concat())
        }

        /// `local@domain.tld` from those pieces, often an address.
        fn address_like() -> impl Strategy<Value = String> {
            (
                part(8),
                part(6),
                prop::sample::select(vec!["com", "ＣＯＭ", "io", "рф"]),
            )
                .prop_map(|(local, domain, tld)| format!("{local}@{domain}.{tld}"))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn normalising_an_accepted_address_twice_changes_nothing(raw in address_like()) {
                if let Ok(email) = Email::parse(&raw) {
                    let once = normalise(&raw);
                    prop_assert_eq!(normalise(&once), once.clone());
                    prop_assert_eq!(email.as_str(), once);
                    prop_assert_eq!(Email::parse(email.as_str()), Ok(email.clone()));
                }
            }

            #[test]
            fn no_text_makes_parsing_panic(raw in any::<String>()) {
                if let Ok(email) = Email::parse(&raw) {
                    let _ = email.skeleton();
                }
            }
        }
    }
}
