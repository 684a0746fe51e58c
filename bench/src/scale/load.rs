//! What each table gets: users with their profiles, sessions, tokens and
//! networks plus the back-off counters of that many users, or the backlog
//! of expired rows the clean-up part measures. Each table is one `COPY`,
//! all at once, with the secondary indexes built after it.

use std::io::Write;
use std::ops::Range;
use std::time::Duration;

use auth_service::testing::Email;

use super::copy::{
    ACCOUNT_FAILURES, LOGIN_FAILURES, NETWORKS, PROFILES, RATE_LIMITS, SESSIONS, TOKENS, USERS,
    Urls, bytea, copy, opt_ts, ts, without_secondary_indexes, write_session, write_tokens,
};
use super::model::{DAY, Dice, Model};

fn invalid(message: String) -> std::io::Error {
    std::io::Error::other(message)
}

/// Loads users `range` with their profiles, sessions, tokens and
/// networks, and the back-off counters that go with that many users.
pub fn load_users(model: &Model, urls: &Urls, range: Range<u64>) -> Result<Duration, String> {
    let (auth, profile) = (urls.auth.as_str(), urls.profile.as_str());
    let users = |out: &mut dyn Write| {
        for i in range.clone() {
            let user = model.user(i);
            let email = Email::parse(&user.email)
                .ok()
                .filter(|e| e.as_str() == user.email)
                .ok_or_else(|| invalid(format!("generated email {} is invalid", user.email)))?;
            let updated = user.created_at + (model.now - user.created_at) / 3;
            writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{}",
                user.id,
                user.email,
                email.skeleton(),
                model.password_hash,
                ts(user.created_at),
                ts(updated)
            )?;
        }
        Ok(())
    };
    let profiles = |out: &mut dyn Write| {
        for i in range.clone() {
            let user = model.user(i);
            let (name, bio) = model.profile(i, &user.email);
            let seen = model.now - 60 - Dice::new(i, 9).secs(model.refresh_ttl);
            writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                user.id,
                user.email,
                ts(seen),
                name.as_deref().unwrap_or("\\N"),
                bio.as_deref().unwrap_or("\\N"),
                ts(user.created_at + 5),
                ts(seen.max(user.created_at + 5))
            )?;
        }
        Ok(())
    };
    let sessions = |out: &mut dyn Write| {
        for i in range.clone() {
            let user = model.user(i).id;
            for session in model.sessions(i) {
                write_session(out, user, &session)?;
            }
        }
        Ok(())
    };
    let tokens = |out: &mut dyn Write| {
        for i in range.clone() {
            let user = model.user(i);
            for session in model.sessions(i) {
                write_tokens(out, model, &user, &session)?;
            }
        }
        Ok(())
    };
    let networks = |out: &mut dyn Write| {
        for i in range.clone() {
            let user = model.user(i).id;
            for (hash, expires) in model.networks(i) {
                writeln!(out, "{user}\t{}\t{}", bytea(&hash), ts(expires))?;
            }
        }
        Ok(())
    };
    let (start, end) = (range.start, range.end);
    let counters = || -> Result<(), String> {
        copy(auth, &LOGIN_FAILURES, |out| {
            for k in start.div_ceil(20)..end.div_ceil(20) {
                let row = model.login_failure(k);
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}",
                    row.email,
                    row.network,
                    row.failures,
                    opt_ts(row.locked_until),
                    ts(row.updated_at)
                )?;
            }
            Ok(())
        })?;
        copy(auth, &ACCOUNT_FAILURES, |out| {
            for k in start.div_ceil(100)..end.div_ceil(100) {
                let mut dice = Dice::new(k, 11);
                let window = model.now - 60 - dice.secs(DAY - 120);
                let email = model.user(k * 100).email;
                writeln!(out, "{email}\t{}\t{}", ts(window), 1 + dice.below(100))?;
            }
            Ok(())
        })?;
        copy(auth, &RATE_LIMITS, |out| {
            for k in start.div_ceil(1000)..end.div_ceil(1000) {
                let tat = model.now + 1 + Dice::new(k, 12).secs(60);
                writeln!(out, "198.18.{}.{}\t{}", (k >> 8) & 255, k & 255, ts(tat))?;
            }
            Ok(())
        })
    };
    without_secondary_indexes(auth, || {
        std::thread::scope(|scope| {
            let jobs = [
                scope.spawn(|| copy(auth, &USERS, users)),
                scope.spawn(|| copy(profile, &PROFILES, profiles)),
                scope.spawn(|| copy(auth, &SESSIONS, sessions)),
                scope.spawn(|| copy(auth, &TOKENS, tokens)),
                scope.spawn(|| copy(auth, &NETWORKS, networks)),
                scope.spawn(counters),
            ];
            join_all(jobs)
        })
    })
}

/// Loads `count` sessions that expired more than a day ago (with their
/// tokens), half as many expired known networks, and back-off counters
/// quiet for more than a day: what the services' sweeps are for.
pub fn load_backlog(
    model: &Model,
    urls: &Urls,
    count: u64,
    users: u64,
) -> Result<Duration, String> {
    let auth = urls.auth.as_str();
    let sessions = |out: &mut dyn Write| {
        for k in 0..count {
            let session = model.backlog_session(k, users);
            write_session(out, model.user(session.user).id, &session)?;
        }
        Ok(())
    };
    let tokens = |out: &mut dyn Write| {
        for k in 0..count {
            let session = model.backlog_session(k, users);
            write_tokens(out, model, &model.user(session.user), &session)?;
        }
        Ok(())
    };
    let networks = |out: &mut dyn Write| {
        for k in 0..count / 2 {
            let mut dice = Dice::new(k, 13);
            let user = model.user(dice.below(users)).id;
            let expired = model.now - 60 - dice.secs(model.refresh_ttl);
            writeln!(out, "{user}\t{}\t{}", bytea(&dice.bytes32()), ts(expired))?;
        }
        Ok(())
    };
    let counters = || -> Result<(), String> {
        copy(auth, &LOGIN_FAILURES, |out| {
            for k in 0..count / 10 {
                let mut dice = Dice::new(k, 14);
                let quiet = model.now - DAY - 60 - dice.secs(6 * DAY);
                let network = format!("172.16.{}.{}", (k >> 8) & 255, k & 255);
                let email = format!("gone{k}@example.net");
                writeln!(
                    out,
                    "{email}\t{network}\t{}\t\\N\t{}",
                    1 + dice.below(9),
                    ts(quiet)
                )?;
            }
            Ok(())
        })?;
        copy(auth, &ACCOUNT_FAILURES, |out| {
            for k in 0..count / 20 {
                let mut dice = Dice::new(k, 15);
                let window = model.now - DAY - 60 - dice.secs(6 * DAY);
                let failures = 1 + dice.below(100);
                writeln!(out, "gone{k}@example.net\t{}\t{failures}", ts(window))?;
            }
            Ok(())
        })
    };
    without_secondary_indexes(auth, || {
        std::thread::scope(|scope| {
            let jobs = [
                scope.spawn(|| copy(auth, &SESSIONS, sessions)),
                scope.spawn(|| copy(auth, &TOKENS, tokens)),
                scope.spawn(|| copy(auth, &NETWORKS, networks)),
                scope.spawn(counters),
            ];
            join_all(jobs)
        })
    })
}

/// Waits for every loader; the first error (or panic) wins.
fn join_all<'scope, const N: usize>(
    jobs: [std::thread::ScopedJoinHandle<'scope, Result<(), String>>; N],
) -> Result<(), String> {
    jobs.into_iter().try_for_each(|job| {
        job.join()
            .unwrap_or_else(|_| Err("a loader panicked".into()))
    })
}
