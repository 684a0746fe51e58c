//! The networks a user is known from (exempt from the account-wide login
//! ceiling), as the hot path writes them: each login, signup and refresh
//! renews its own network's memory and sweeps up to 100 expired ones in
//! the same statement (`remember_network`).

use shared::api::TokenResponse;

use crate::support::db;
use crate::support::stack::TestStack;

#[tokio::test]
async fn a_refresh_renews_its_network_even_expired_and_sweeps_only_expired_ones() {
    let stack = TestStack::start().await;
    let (_, tokens) = stack.new_session().await;
    let (_, other) = stack.new_session().await;
    let user = subject(&tokens);
    let neighbour = subject(&other);
    let mut conn = stack.auth.db();
    let mine = format!("SELECT count(*) FROM known_networks WHERE user_id = '{user}'");
    assert_eq!(
        db::count(&mut conn, &mine),
        1,
        "the login remembered its network"
    );
    // This user's own memory has run out; the neighbour has three expired
    // memories and one still good.
    db::execute(
        &mut conn,
        &format!(
            "UPDATE known_networks SET expires_at = now() - interval '1 hour' WHERE user_id = '{user}'"
        ),
    );
    db::execute(
        &mut conn,
        &format!(
            "INSERT INTO known_networks (user_id, network_hash, expires_at) \
             SELECT '{neighbour}', sha256(n::text::bytea), now() - n * interval '1 minute' \
             FROM generate_series(1, 3) AS n"
        ),
    );
    let expired = "SELECT count(*) FROM known_networks WHERE expires_at < now()";
    assert_eq!(db::count(&mut conn, expired), 4);

    stack
        .refresh(&tokens.refresh_token)
        .await
        .expect::<TokenResponse>(200);

    assert_eq!(
        db::count(&mut conn, expired),
        0,
        "the refresh swept every expired memory but its own, and renewed that"
    );
    assert_eq!(
        db::count(
            &mut conn,
            &format!("{mine} AND expires_at > now() + interval '1 day'")
        ),
        1,
        "its own network is known again for the refresh token's lifetime"
    );
    assert_eq!(
        db::count(
            &mut conn,
            &format!("SELECT count(*) FROM known_networks WHERE user_id = '{neighbour}'")
        ),
        1,
        "the neighbour's memory that had not run out stays"
    );
}

fn subject(tokens: &TokenResponse) -> String {
    crate::support::jwt::unverified_claims(&tokens.access_token)["sub"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
