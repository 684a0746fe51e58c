//! Values that are valid by construction: an [`Email`] or a [`Password`]
//! that exists has passed the contract's rules.

mod email;
mod password;

pub use email::Email;
pub use password::Password;
