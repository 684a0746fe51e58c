//! The `/login` form: `parse_form` (the decoder `web::Form`, and so
//! `FormBody`, runs on the bytes of a body) must never panic, whatever the
//! bytes (undecodable values included), must accept every field it can
//! read as the pairs any decoder sees, and must refuse a parameter given
//! twice.

#![no_main]

use auth_service::testing::TokenRequest;
use libfuzzer_sys::fuzz_target;
use service_kit::extract::parse_form;

type Fields = [Option<String>; 6];

fn fields(form: TokenRequest) -> Fields {
    [
        form.grant_type,
        form.username,
        form.password,
        form.refresh_token,
        form.client_id,
        form.scope,
    ]
}

const NAMES: [&str; 6] = [
    "grant_type",
    "username",
    "password",
    "refresh_token",
    "client_id",
    "scope",
];

fuzz_target!(|data: &[u8]| {
    let form = parse_form::<TokenRequest>(data).map(fields);
    let pairs = parse_form::<Vec<(String, String)>>(data).expect("any bytes are pairs");
    let repeated = NAMES
        .iter()
        .any(|name| pairs.iter().filter(|(key, _)| key == name).count() > 1);
    if repeated {
        assert!(form.is_err(), "a repeated parameter was accepted");
    } else if let Ok(fields) = form {
        // What was accepted is what the pairs say.
        for (name, field) in NAMES.iter().zip(fields) {
            let given = pairs.iter().find(|(key, _)| key == name).map(|(_, v)| v.clone());
            assert_eq!(field, given, "{name}");
        }
    }
});
