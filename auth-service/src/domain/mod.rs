//! Values that are valid by construction: an [`Email`] or a [`Password`]
//! that exists has passed the contract's rules (for an email, the
//! look-alike rules of `lookalike` too).

mod email;
mod lookalike;
mod password;

pub use email::Email;
pub use password::Password;
