//! `Email::parse`'s rules, case by case and as properties.

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
fn a_domain_is_one_domain_in_unicode_and_as_its_a_label() {
    let unicode = Email::parse("ana@m\u{fc}nchen.example");
    assert_eq!(
        unicode.as_ref().map(Email::as_str),
        Ok("ana@m\u{fc}nchen.example")
    );
    for raw in ["ana@xn--mnchen-3ya.example", "Ana@XN--MNCHEN-3YA.Example"] {
        assert_eq!(Email::parse(raw), unicode, "{raw}");
    }
    assert_eq!(
        Email::parse("ana@xn--abc-.example"),
        Err("must be a valid email address"),
        "an A-label that decodes to ASCII"
    );
}

#[test]
fn an_a_label_does_not_hide_mixed_scripts() {
    let a_label = idna::domain_to_ascii("ex\u{430}mple.com").unwrap_or_default();
    assert!(a_label.starts_with("xn--"), "{a_label}");
    assert_eq!(
        Email::parse(&format!("ada@{a_label}")),
        Err("must not mix scripts (such as Latin and Cyrillic) within a part")
    );
}

#[test]
fn a_dot_above_i_is_refused_however_it_was_typed() {
    for raw in [
        "ki\u{307}m2@uni.example",
        "k\u{130}m@uni.example",
        "K\u{130}M@UNI.example",
        "k\u{131}\u{307}m@uni.example",
    ] {
        assert_eq!(
            Email::parse(raw),
            Err("must not hold a mark that hides in its letter (such as a dot above i)"),
            "{raw:?}"
        );
    }
    assert!(Email::parse("zo\u{eb}@uni.example").is_ok());
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
            "a", "Z", "0", ".", "+", "-", "_", " ", "\"", "ａ", "Ａ", "ﬁ", "ﬀ", "ǅ", "İ", "ß", "ẞ",
            "Σ", "ς", "ϴ", "\u{212a}", "\u{212b}", "\u{308}", "\u{301}", "¨", "´", "\u{200b}",
            "\u{ad}", "а", "д", "α", "ı", "㎏", "①", "ǰ", "ΐ", "\u{1e9e}", "\u{3000}", "\u{2126}",
            "ｰ", "゛", "ｶ", "\u{ff9e}",
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
                let with_domain = unicode_domain(&once).map(Cow::into_owned);
                prop_assert_eq!(Some(email.as_str().to_owned()), with_domain);
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
