//! What the measured requests are made of: which users sign up, log in,
//! refresh and read their profile at each size, and the real keys the
//! plans of the hot queries are shown with.

use super::model::{Dice, Model, State};
use super::plans::Probe;
use super::traffic::Workload;

/// The requests of the round at `users` users: new signups, logins of
/// random users, refreshes of the sample sessions loaded in `fresh`, and
/// `GET /me` with the access tokens of 500 random users.
pub fn workload(
    model: &Model,
    fresh: std::ops::Range<u64>,
    users: u64,
    requests: usize,
) -> Result<Workload, String> {
    let mut dice = Dice::new(users, 100);
    let logins = (0..requests)
        .map(|_| model.user(dice.below(users)).email)
        .collect();
    let refresh_tokens = fresh
        .filter(|&i| model.is_sample(i))
        .filter_map(|i| {
            let user = model.user(i);
            let first = model.sessions(i).into_iter().next()?;
            model.refresh_token(user.id, &first)
        })
        .take(requests)
        .collect();
    let now = chrono::Utc::now();
    let access_tokens = (0..500.min(users))
        .map(|_| {
            let i = dice.below(users);
            let user = model.user(i);
            let session = model.sessions(i).first().map(|s| s.id).unwrap_or_default();
            model
                .signer
                .access_token(user.id, &user.email, session, now)
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    Ok(Workload {
        signups: (0..requests)
            .map(|k| format!("new.user{k}.at{users}@signup.example"))
            .collect(),
        logins,
        refresh_tokens,
        access_tokens,
        me_requests: 3 * requests,
    })
}

/// A user in the big range with a live session of two tokens or more,
/// not among the refresh samples, for the plans' parameters.
pub fn probe(model: &Model, rows: u64) -> Probe {
    let mut probe = None;
    for i in rows / 2..rows {
        let sessions = model.sessions(i);
        let Some(first) = sessions.first() else {
            continue;
        };
        if model.is_sample(i) || first.state != State::Live || first.tokens.len() < 2 {
            continue;
        }
        let (Some(newest), Some(oldest)) = (first.tokens.last(), first.tokens.first()) else {
            continue;
        };
        let user = model.user(i);
        probe = Some((user, first.id, newest.id, oldest.id));
        break;
    }
    let (user, session, newest_token, parent_token) = probe.unwrap_or_else(|| {
        let user = model.user(rows / 2);
        (
            user,
            uuid::Uuid::nil(),
            uuid::Uuid::nil(),
            uuid::Uuid::nil(),
        )
    });
    let failure = model.login_failure(rows / 40);
    Probe {
        user: user.id,
        email: user.email,
        session,
        newest_token,
        parent_token,
        failure_email: failure.email,
        failure_network: failure.network,
        account_email: model.user(rows / 200 * 100).email,
    }
}
