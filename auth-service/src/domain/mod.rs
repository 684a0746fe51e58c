//! Values that are valid by construction: an [`Email`], a [`Password`] or
//! a [`OneTimeToken`] that exists has passed the contract's rules (for an
//! email, the look-alike rules of `lookalike` too).

mod email;
mod lookalike;
mod one_time_token;
mod password;

pub use email::Email;
pub use one_time_token::OneTimeToken;
pub use password::Password;
