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

#[tokio::test]
async fn a_dot_above_i_is_refused_and_a_domain_is_one_domain_in_unicode_and_as_an_a_label() {
    let stack = TestStack::start().await;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let domain = format!("uni{tag}.example");
    let (unicode, a_label) = (
        format!("m\u{fc}nchen{tag}.example"),
        format!("xn--mnchen{tag}-"),
    );
    let a_label = idna_a_label(&unicode, &a_label);
    for local in ["kim", "kim2"] {
        stack
            .signup(&format!("{local}@{domain}"), PASSWORD)
            .await
            .expect::<Value>(201);
    }
    for email in [
        format!("ki\u{307}m2@{domain}"),
        format!("k\u{130}m@{domain}"),
        format!("K\u{130}M@{domain}"),
    ] {
        let reply = stack.signup(&email, PASSWORD).await;
        let body = reply.expect_error(422, ErrorCode::ValidationError);
        assert!(
            body.fields.is_some_and(|f| f.contains_key("email")),
            "{email:?}"
        );
    }
    // One mailbox, whichever form comes first; stored in Unicode.
    for (first, second) in [("ana", true), ("bo", false)] {
        let (one, other) = if second {
            (&unicode, &a_label)
        } else {
            (&a_label, &unicode)
        };
        let user: shared::api::UserResponse = stack
            .signup(&format!("{first}@{one}"), PASSWORD)
            .await
            .expect(201);
        assert_eq!(user.email, format!("{first}@{unicode}"));
        stack
            .signup(&format!("{first}@{other}"), PASSWORD)
            .await
            .expect_error(409, ErrorCode::EmailTaken);
        stack
            .login(&format!("{first}@{other}"), PASSWORD)
            .await
            .expect::<shared::api::TokenResponse>(200);
    }
}

/// `domain` with its labels as A-labels (UTS #46 ToASCII, done by the URL
/// parser reqwest uses), checked to start as `expected` does.
fn idna_a_label(domain: &str, expected: &str) -> String {
    let url = reqwest::Url::parse(&format!("http://{domain}/")).unwrap();
    let a_label = url.host_str().unwrap_or_default().to_owned();
    assert!(a_label.starts_with(expected), "{a_label}");
    a_label
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_stored_with_a_labels_or_hidden_marks_are_renormalised_or_left_for_an_operator() {
    use diesel::Connection;
    use diesel_migrations::MigrationHarness;
    let stack = TestStack::start().await;
    let database = crate::support::stack::empty_database("auth");
    let mut conn = diesel::PgConnection::establish(database.url()).unwrap();
    // The schema as the version before Unicode domains left it.
    for _ in 0..5 {
        conn.run_next_migration(auth_service::testing::MIGRATIONS)
            .unwrap();
    }
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    // (id, email): what the older rules stored side by side, each with a
    // skeleton (here simply the address).
    let rows = [
        (
            "44444444-4444-4444-8444-444444444444",
            "eve@xn--mnchen-3ya.example",
        ),
        (
            "55555555-5555-4555-8555-555555555555",
            "ana@m\u{fc}nchen.example",
        ),
        (
            "66666666-6666-4666-8666-666666666666",
            "ana@xn--mnchen-3ya.example",
        ),
        (
            "77777777-7777-4777-8777-777777777777",
            "ki\u{307}m@example.com",
        ),
    ];
    for (id, email) in rows {
        crate::support::db::execute(
            &mut conn,
            &format!(
                "INSERT INTO users (id, email, email_skeleton, password_hash) VALUES ('{id}', '{email}', '{email}', '{hash}')"
            ),
        );
    }
    let mut auth = stack.start_another("auth-service", database.url());
    tokio::task::block_in_place(|| auth.wait_listening(std::time::Duration::from_secs(60)));
    let stored = |conn: &mut diesel::PgConnection, id: &str, email: &str| {
        crate::support::db::count(
            conn,
            &format!("SELECT count(*) FROM users WHERE id = '{id}' AND email = '{email}'"),
        )
    };
    assert_eq!(
        stored(&mut conn, rows[0].0, "eve@m\u{fc}nchen.example"),
        1,
        "eve moved"
    );
    for (id, email) in &rows[1..] {
        assert_eq!(stored(&mut conn, id, email), 1, "{email} kept");
    }
    for (id, _) in &rows[2..] {
        assert!(
            auth.logs()
                .iter()
                .any(|l| l.contains("left for an operator") && l.contains(id)),
            "{id} is logged: {:?}",
            auth.logs()
        );
    }
    let client = reqwest::Client::new();
    for form in ["eve@xn--mnchen-3ya.example", "eve@m\u{fc}nchen.example"] {
        let login = crate::support::client::send(
            client
                .post(format!("{}/login", auth.base_url))
                .form(&[("username", form), ("password", PASSWORD)]),
        )
        .await;
        login.expect::<shared::api::TokenResponse>(200);
    }
}
