//! diesel's view of the tables the migrations create.

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        password_hash -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        email_skeleton -> Nullable<Text>,
        email_verified -> Bool,
        totp_enabled -> Bool,
    }
}

diesel::table! {
    one_time_tokens (user_id, purpose) {
        user_id -> Uuid,
        purpose -> Text,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    outbox (id) {
        id -> Int8,
        kind -> Text,
        payload -> Jsonb,
        attempts -> Int4,
        created_at -> Timestamptz,
        next_attempt_at -> Timestamptz,
        failed_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    login_failures (email, network) {
        email -> Text,
        network -> Text,
        failures -> Int4,
        locked_until -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    login_account_failures (email) {
        email -> Text,
        window_start -> Timestamptz,
        failures -> Int4,
    }
}

diesel::table! {
    known_networks (user_id, network_hash) {
        user_id -> Uuid,
        network_hash -> Bytea,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
        refreshed_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        expires_at -> Timestamptz,
        user_agent -> Nullable<Text>,
        ip -> Nullable<Text>,
        second_factor -> Bool,
    }
}

diesel::table! {
    event_outbox (id) {
        id -> Int8,
        webhook_id -> Text,
        endpoint -> Text,
        user_id -> Uuid,
        body -> Text,
        attempts -> Int4,
        created_at -> Timestamptz,
        next_attempt_at -> Timestamptz,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        session_id -> Uuid,
        parent_id -> Nullable<Uuid>,
        token_hash -> Bytea,
        issued_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    totp_factors (user_id) {
        user_id -> Uuid,
        secret_ciphertext -> Bytea,
        secret_nonce -> Bytea,
        created_at -> Timestamptz,
        confirmed_at -> Nullable<Timestamptz>,
        last_used_step -> Nullable<Int8>,
    }
}

diesel::table! {
    recovery_codes (user_id, code_hash) {
        user_id -> Uuid,
        code_hash -> Bytea,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(totp_factors -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(known_networks -> users (user_id));
diesel::joinable!(one_time_tokens -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    refresh_tokens,
    login_failures,
    login_account_failures,
    known_networks,
    one_time_tokens,
    outbox,
    event_outbox,
    totp_factors,
    recovery_codes,
);
