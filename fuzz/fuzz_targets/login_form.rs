//! The `/login` form: `parse_form` (what `FormBody` runs on the bytes of a
//! body) must decode exactly as actix's `web::Form` does
//! (`serde_urlencoded::from_bytes`), repeated keys and undecodable values
//! included, and refuse a parameter given twice.

#![no_main]

use actix_web::error::UrlencodedError;
use auth_service::routes::login::TokenRequest;
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
    let ours = parse_form::<TokenRequest>(data).map(fields);
    let actix = serde_urlencoded::from_bytes::<TokenRequest>(data).map(fields);
    match (&ours, &actix) {
        (Ok(ours), Ok(actix)) => assert_eq!(ours, actix),
        (Err(UrlencodedError::Parse(ours)), Err(actix)) => {
            assert_eq!(ours.to_string(), actix.to_string());
        }
        _ => panic!("parse_form gave {ours:?} where web::Form gives {actix:?}"),
    }
    let pairs =
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(data).expect("any bytes are pairs");
    let ours_pairs = parse_form::<Vec<(String, String)>>(data).expect("any bytes are pairs");
    assert_eq!(ours_pairs, pairs);
    let repeated = NAMES
        .iter()
        .any(|name| pairs.iter().filter(|(key, _)| key == name).count() > 1);
    if repeated {
        assert!(ours.is_err(), "a repeated parameter was accepted");
    }
});
