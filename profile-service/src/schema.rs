//! diesel's view of the tables the migrations create.

diesel::table! {
    profiles (user_id) {
        user_id -> Uuid,
        email -> Text,
        email_issued_at -> Timestamptz,
        display_name -> Nullable<Text>,
        bio -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    revoked_sessions (session_id) {
        session_id -> Uuid,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    revoked_users (user_id) {
        user_id -> Uuid,
        before -> Nullable<Timestamptz>,
        deleted -> Bool,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    received_events (webhook_id) {
        webhook_id -> Text,
        received_at -> Timestamptz,
    }
}
