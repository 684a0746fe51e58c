//! One module per resource: [`me`] on the public port, [`events`] on the
//! internal one.

pub mod events;
pub mod me;
