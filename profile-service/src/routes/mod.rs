//! One module per resource.

pub mod me;
