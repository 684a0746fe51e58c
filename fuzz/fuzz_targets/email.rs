//! `Email::parse`, as signup and login run it on the address a client
//! sent: any text is refused with one of its sentences or gives an address
//! that parses to itself again (normalising is idempotent on everything
//! accepted) and has a skeleton.

#![no_main]

use auth_service::testing::Email;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    match Email::parse(raw) {
        Ok(email) => {
            assert_eq!(
                Email::parse(email.as_str()).as_ref(),
                Ok(&email),
                "{raw:?} is accepted, its normal form is not the same address"
            );
            assert!(email.as_str().chars().count() <= shared::api::MAX_EMAIL_CHARS);
            let _ = email.skeleton();
        }
        Err(sentence) => assert!(!sentence.is_empty()),
    }
});
