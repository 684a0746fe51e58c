//! The auth service's configuration (`Config::read`, which reads the
//! shared variables too) over `NAME=VALUE` lines instead of the process
//! environment. Whatever the values, the answer is a config or one line
//! naming the problems, and neither shows a secret. `*_FILE` variables
//! are left out: they name files to read, not values to parse.

#![no_main]

use auth_service::config::Config;
use libfuzzer_sys::fuzz_target;
use service_kit::config::EnvReader;

const SECRETS: [&str; 3] = ["DATABASE_URL", "JWT_SECRET_KEY", "JWT_REFRESH_SECRET_KEY"];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let pairs: Vec<(String, String)> = text
        .lines()
        .filter_map(|line| line.split_once('='))
        .filter(|(name, _)| !name.ends_with("_FILE"))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    let shown = read(&pairs);
    assert!(!shown.contains('\n'), "not one line: {shown}");
    for (index, (name, secret)) in pairs.iter().enumerate() {
        if !SECRETS.contains(&name.as_str())
            || secret.trim().len() < 8
            || !shown.contains(secret.as_str())
        {
            continue;
        }
        // Shown, but maybe as part of something else: not if the same run
        // with another value of the same length shows it too.
        let mut other = pairs.clone();
        other[index].1 = "\u{1}".repeat(secret.len());
        assert!(
            read(&other).contains(secret.as_str()),
            "{name} is shown: {shown}"
        );
    }
});

/// What a start-up shows: the config's `Debug`, or the error line.
fn read(pairs: &[(String, String)]) -> String {
    match Config::read(EnvReader::from_pairs(pairs.iter().cloned())) {
        Ok(config) => format!("{config:?}"),
        Err(error) => error.to_string(),
    }
}
