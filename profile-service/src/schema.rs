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
