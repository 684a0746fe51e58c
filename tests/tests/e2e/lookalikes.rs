//! Addresses that only look like an existing one are refused at signup,
//! and older rows are brought to today's normal form without merging two
//! accounts.

use serde_json::Value;
use shared::api::ErrorCode;

use crate::support::client::PASSWORD;
use crate::support::stack::TestStack;

#[tokio::test]
async fn look_alikes_of_an_existing_address_are_refused() {
    let stack = TestStack::start().await;
    let local = format!("ada{}", uuid::Uuid::new_v4().simple());
    stack
        .signup(&format!("{local}@example.com"), PASSWORD)
        .await
        .expect::<Value>(201);
    stack
        .signup(&format!("kim{local}@example.com"), PASSWORD)
        .await
        .expect::<Value>(201);
    let fullwidth: String = local
        .chars()
        .map(|c| char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c))
        .collect();
    // (what the attacker sent, what it must get)
    let cases = [
        (
            format!("{fullwidth}@example.com"),
            409,
            ErrorCode::EmailTaken,
        ),
        (
            format!("k\u{131}m{local}@example.com"),
            409,
            ErrorCode::EmailTaken,
        ),
        (
            format!("{local}\u{200b}@example.com"),
            422,
            ErrorCode::ValidationError,
        ),
        (
            format!("{local}\u{ad}@example.com"),
            422,
            ErrorCode::ValidationError,
        ),
        (
            format!("{local}\u{430}@example.com"),
            422,
            ErrorCode::ValidationError,
        ),
        (
            format!("{local}@ex\u{430}mple.com"),
            422,
            ErrorCode::ValidationError,
        ),
    ];
    for (email, status, code) in cases {
        let reply = stack.signup(&email, PASSWORD).await;
        let body = reply.expect_error(status, code);
        if status == 422 {
            assert!(
                body.fields.is_some_and(|f| f.contains_key("email")),
                "{email:?}"
            );
        }
    }
    // An address in another script that resembles no existing one is fine.
    stack
        .signup(
            &format!(
                "\u{430}\u{434}\u{430}{}@example.com",
                uuid::Uuid::new_v4().as_u128() % 1_000_000_007
            ),
            PASSWORD,
        )
        .await
        .expect::<Value>(201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_rows_are_renormalised_and_a_collision_is_logged_not_merged() {
    use diesel::Connection;
    use diesel_migrations::MigrationHarness;
    let stack = TestStack::start().await;
    let database = crate::support::stack::empty_database("auth");
    let mut conn = diesel::PgConnection::establish(database.url()).unwrap();
    // The schema as the version before NFKC left it.
    for _ in 0..3 {
        conn.run_next_migration(auth_service::testing::MIGRATIONS)
            .unwrap();
    }
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    let rows = [
        // Stored NFC-only: fullwidth letters were kept as they came.
        (
            "11111111-1111-4111-8111-111111111111",
            "\u{ff42}\u{ff4f}\u{ff42}@example.com",
        ),
        ("22222222-2222-4222-8222-222222222222", "carol@example.com"),
        (
            "33333333-3333-4333-8333-333333333333",
            "\u{ff43}arol@example.com",
        ),
    ];
    for (id, email) in rows {
        crate::support::db::execute(
            &mut conn,
            &format!(
                "INSERT INTO users (id, email, password_hash) VALUES ('{id}', '{email}', '{hash}')"
            ),
        );
    }
    let mut auth = stack.start_another("auth-service", database.url());
    tokio::task::block_in_place(|| auth.wait_listening(std::time::Duration::from_secs(60)));
    let email_of = |conn: &mut diesel::PgConnection, id: &str| {
        crate::support::db::count(
            conn,
            &format!("SELECT count(*) FROM users WHERE id = '{id}' AND email = 'bob@example.com'"),
        )
    };
    assert_eq!(email_of(&mut conn, rows[0].0), 1, "bob was re-normalised");
    let untouched = crate::support::db::count(
        &mut conn,
        &format!("SELECT count(*) FROM users WHERE email = '{}'", rows[2].1),
    );
    assert_eq!(untouched, 1, "the colliding row keeps its email");
    assert_eq!(
        crate::support::db::count(&mut conn, "SELECT count(*) FROM users"),
        3,
        "nothing merged or dropped"
    );
    assert!(
        auth.logs()
            .iter()
            .any(|l| l.contains("left for an operator") && l.contains(rows[2].0)),
        "the collision is logged: {:?}",
        auth.logs()
    );
    let client = reqwest::Client::new();
    let login = crate::support::client::send(
        client
            .post(format!("{}/login", auth.base_url))
            .form(&[("username", "ｂｏｂ@example.com"), ("password", PASSWORD)]),
    )
    .await;
    login.expect::<shared::api::TokenResponse>(200);
}
