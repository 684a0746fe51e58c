//! The harness every end-to-end test uses: [`stack`] starts PostgreSQL and
//! both real binaries ([`service`]); [`client`] talks to them; [`db`] reads
//! what they stored; [`jwt`] makes and reads tokens as any JWT library
//! would; [`smtp`] is the SMTP server mail goes to; [`tools`] finds the
//! outside programs a few tests need.

pub mod client;
pub mod db;
pub mod jwt;
pub mod service;
pub mod smtp;
pub mod stack;
pub mod tools;
