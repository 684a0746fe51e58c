//! The rules of a profile's fields.

use shared::api::{FieldErrors, ProfilePatch};

/// The most characters a display name may have.
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;
/// The most characters a bio may have.
pub const MAX_BIO_CHARS: usize = 1024;

/// A checked `PATCH /me`: `None` leaves a field alone, `Some(None)`
/// clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    pub display_name: Option<Option<String>>,
    pub bio: Option<Option<String>>,
}

impl ProfileChanges {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.display_name.is_none() && self.bio.is_none()
    }
}

/// Checks a `PATCH /me` body: lengths in Unicode characters, inclusive,
/// and no NUL (PostgreSQL text cannot hold one).
pub fn parse_patch(patch: ProfilePatch) -> Result<ProfileChanges, FieldErrors> {
    let mut fields = FieldErrors::default();
    check(
        &mut fields,
        "display_name",
        patch.display_name.as_ref(),
        MAX_DISPLAY_NAME_CHARS,
    );
    check(&mut fields, "bio", patch.bio.as_ref(), MAX_BIO_CHARS);
    fields.into_result()?;
    Ok(ProfileChanges {
        display_name: patch.display_name,
        bio: patch.bio,
    })
}

fn check(fields: &mut FieldErrors, name: &str, value: Option<&Option<String>>, max: usize) {
    let Some(Some(text)) = value else {
        return;
    };
    if text.contains('\0') {
        fields.add(name, "must not contain a NUL character");
    } else if text.chars().count() > max {
        fields.add(name, format!("must be at most {max} characters"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(display_name: Option<Option<&str>>, bio: Option<Option<&str>>) -> ProfilePatch {
        ProfilePatch {
            display_name: display_name.map(|v| v.map(str::to_owned)),
            bio: bio.map(|v| v.map(str::to_owned)),
        }
    }

    #[test]
    fn limits_are_inclusive_and_count_characters() {
        let name = "é".repeat(MAX_DISPLAY_NAME_CHARS);
        assert!(parse_patch(patch(Some(Some(&name)), None)).is_ok());
        let long = "é".repeat(MAX_DISPLAY_NAME_CHARS + 1);
        assert!(parse_patch(patch(Some(Some(&long)), None)).is_err());
        let bio = "b".repeat(MAX_BIO_CHARS);
        assert!(parse_patch(patch(None, Some(Some(&bio)))).is_ok());
        let long_bio = "b".repeat(MAX_BIO_CHARS + 1);
        assert!(parse_patch(patch(None, Some(Some(&long_bio)))).is_err());
    }

    #[test]
    fn null_clears_and_nul_is_refused() {
        let changes = parse_patch(patch(Some(None), None)).map_err(|_| ());
        assert_eq!(changes.map(|c| c.display_name), Ok(Some(None)));
        assert!(parse_patch(patch(None, Some(Some("a\0b")))).is_err());
    }
}
