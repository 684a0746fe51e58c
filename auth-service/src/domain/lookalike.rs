//! What makes one address pass for another: characters nobody sees,
//! scripts mixed inside a part, marks that hide in the letter they sit
//! on, and the confusable skeleton two accounts may not share (Unicode
//! TR39 / UTS #39).

use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory, SoftDotted};
use icu_properties::{CodePointMapData, CodePointSetData};
use unicode_normalization::UnicodeNormalization;
use unicode_security::MixedScript;

/// U+0307 COMBINING DOT ABOVE.
const DOT_ABOVE: char = '\u{307}';

/// A character a person cannot see: Unicode format characters (U+200B,
/// U+00AD, ...) and default-ignorable code points (U+034F, U+3164, ...).
pub fn is_invisible(c: char) -> bool {
    CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
        || CodePointMapData::<GeneralCategory>::new().get(c) == GeneralCategory::Format
}

/// Whether `part` (a local part, or one domain label) mixes scripts, as
/// Latin `a` beside Cyrillic `а` (TR39's single-script test).
pub fn mixes_scripts(part: &str) -> bool {
    !part.is_single_script()
}

/// Whether `text` holds a combining mark a reader cannot see for what it
/// is (UTS #39 §5.4): a dot above on a letter that shows a dot already
/// (Soft_Dotted: `i`, `j`, `į`, Cyrillic `і`, ...) or that reads as one
/// with it (dotless `ı`, `ȷ`), so `ki̇m` (also what `KİM` lower-cases to)
/// looks like `kim`; or the same nonspacing mark twice on one letter,
/// which draws as once.
pub fn has_hidden_mark(text: &str) -> bool {
    let soft_dotted = CodePointSetData::new::<SoftDotted>();
    let categories = CodePointMapData::<GeneralCategory>::new();
    let mut base = None;
    let mut marks: Vec<char> = Vec::new();
    for c in text.nfd() {
        if categories.get(c) != GeneralCategory::NonspacingMark {
            base = Some(c);
            marks.clear();
            continue;
        }
        let dotted = base.is_some_and(|b| soft_dotted.contains(b) || matches!(b, 'ı' | 'ȷ'));
        if (c == DOT_ABOVE && dotted) || marks.contains(&c) {
            return true;
        }
        marks.push(c);
    }
    false
}

/// What `address` looks like: each non-ASCII character replaced by its
/// TR39 confusable skeleton (`ı` reads as `i`). ASCII is kept as it is:
/// `rn` and `m` stay two addresses, as every mail provider treats them.
pub fn skeleton(address: &str) -> String {
    let mut skeleton = String::with_capacity(address.len());
    for c in address.chars() {
        if c.is_ascii() {
            skeleton.push(c);
        } else {
            let one = c.to_string();
            skeleton.extend(unicode_security::skeleton(&one).flat_map(char::to_lowercase));
        }
    }
    skeleton
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dot_above_a_dotted_or_dotless_letter_is_a_hidden_mark() {
        for text in [
            "ki\u{307}m",
            "k\u{130}m".to_lowercase().as_str(),
            "k\u{131}\u{307}m",
            "\u{237}\u{307}ane",
            "\u{456}\u{307}",
            "i\u{323}\u{307}",
            "\u{12f}\u{307}",
        ] {
            assert!(has_hidden_mark(text), "{text:?}");
        }
    }

    #[test]
    fn a_mark_given_twice_on_one_letter_is_hidden() {
        assert!(has_hidden_mark("zoe\u{308}\u{308}"));
        assert!(has_hidden_mark("zo\u{eb}\u{308}"));
        assert!(has_hidden_mark("e\u{301}\u{323}\u{301}"));
    }

    #[test]
    fn marks_that_show_are_fine() {
        for text in [
            "zo\u{eb}",
            "i\u{308}",
            "\u{227}",
            "a\u{307}",
            "e\u{301}\u{323}",
            "kim",
        ] {
            assert!(!has_hidden_mark(text), "{text:?}");
        }
    }

    #[test]
    fn look_alikes_share_a_skeleton_ascii_keeps_its_own() {
        assert_eq!(skeleton("k\u{131}m"), skeleton("kim"));
        assert_eq!(skeleton("\u{430}\u{430}\u{430}"), skeleton("aaa"));
        assert_ne!(skeleton("rnary"), skeleton("mary"));
    }

    #[test]
    fn invisible_characters_and_mixed_scripts_are_told() {
        for c in ['\u{200b}', '\u{ad}', '\u{2060}', '\u{34f}', '\u{200d}'] {
            assert!(is_invisible(c), "{c:?}");
        }
        assert!(!is_invisible('a'));
        assert!(mixes_scripts("ad\u{430}"));
        assert!(!mixes_scripts("\u{430}\u{434}\u{430}"));
        assert!(!mixes_scripts("ada.42+tag"));
    }
}
