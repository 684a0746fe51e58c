//! The login back-off policy: how long repeated failures make a login
//! wait. Counting the failures is `store::login_failures`'.

use chrono::{DateTime, Utc};

/// The longest back-off after repeated failed logins.
pub const MAX_BACKOFF_SECONDS: i64 = 15 * 60;

/// When an email that has now failed `failures` times in a row may try
/// again: after `limit` failures the wait starts at 1 s and doubles with
/// each further failure, up to 15 minutes.
pub fn backoff_until(failures: i32, limit: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let limit = i64::from(limit);
    let failures = i64::from(failures);
    if limit == 0 || failures < limit {
        return None;
    }
    let doublings = u32::try_from(failures - limit).unwrap_or(u32::MAX).min(20);
    let seconds = 2_i64.pow(doublings).min(MAX_BACKOFF_SECONDS);
    Some(now + chrono::Duration::seconds(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_at_the_limit_and_doubles_to_fifteen_minutes() {
        let now = Utc::now();
        let wait = |failures| backoff_until(failures, 10, now).map(|t| (t - now).num_seconds());
        assert_eq!(wait(9), None);
        assert_eq!(wait(10), Some(1));
        assert_eq!(wait(11), Some(2));
        assert_eq!(wait(13), Some(8));
        assert_eq!(wait(30), Some(900));
        assert_eq!(wait(i32::MAX), Some(900));
        assert_eq!(backoff_until(50, 0, now), None);
    }
}
