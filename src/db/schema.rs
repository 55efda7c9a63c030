//! Table definitions, written to match what `diesel print-schema` prints for `migrations/`.
//! The migration round-trip test checks the database side; keep both in step.

/// PostgreSQL enum types.
pub mod sql_types {
    /// `experience_level`
    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "experience_level"))]
    pub struct ExperienceLevel;

    /// `goal_period`
    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "goal_period"))]
    pub struct GoalPeriod;

    /// `goal_status`
    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "goal_status"))]
    pub struct GoalStatus;

    /// `post_status`
    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "post_status"))]
    pub struct PostStatus;

    /// `notification_kind`
    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "notification_kind"))]
    pub struct NotificationKind;
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::ExperienceLevel;

    users (id) {
        id -> Uuid,
        email -> Text,
        name -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        verified -> Bool,
        email_verified -> Nullable<Timestamptz>,
        image -> Nullable<Text>,
        current_role -> Nullable<Text>,
        experience_level -> ExperienceLevel,
        industry -> Nullable<Text>,
        years_of_experience -> Nullable<Int4>,
        current_skills -> Array<Text>,
        target_skills -> Array<Text>,
        bio -> Nullable<Text>,
        current_goals -> Array<Text>,
        achievement_score -> Int4,
        daily_generation_count -> Int4,
        last_generation_date -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::{GoalPeriod, GoalStatus};

    goals (id) {
        id -> Uuid,
        user_id -> Uuid,
        title -> Text,
        period -> GoalPeriod,
        status -> GoalStatus,
        start_date -> Timestamptz,
        deadline -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::PostStatus;

    posts (id) {
        id -> Uuid,
        author_id -> Uuid,
        title -> Text,
        content -> Text,
        status -> PostStatus,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        like_count -> Int4,
        reply_count -> Int4,
    }
}

diesel::table! {
    likes (id) {
        id -> Uuid,
        user_id -> Uuid,
        post_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    replies (id) {
        id -> Uuid,
        author_id -> Uuid,
        post_id -> Uuid,
        content -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    stories (id) {
        id -> Uuid,
        user_id -> Uuid,
        period -> Text,
        content -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    accounts (id) {
        id -> Uuid,
        user_id -> Uuid,
        #[sql_name = "type"]
        type_ -> Text,
        provider -> Text,
        provider_account_id -> Text,
        refresh_token -> Nullable<Text>,
        access_token -> Nullable<Text>,
        expires_at -> Nullable<Int8>,
        token_type -> Nullable<Text>,
        scope -> Nullable<Text>,
        id_token -> Nullable<Text>,
        session_state -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        user_id -> Uuid,
        session_token_sha256 -> Bytea,
        expires -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        write_lsn -> Nullable<PgLsn>,
    }
}

diesel::table! {
    verification_tokens (identifier, token_sha256) {
        identifier -> Text,
        token_sha256 -> Bytea,
        expires -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    password_resets (id) {
        id -> Uuid,
        user_id -> Uuid,
        token_sha256 -> Bytea,
        expires_at -> Timestamptz,
        used -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(accounts -> users (user_id));
diesel::joinable!(goals -> users (user_id));
diesel::joinable!(likes -> posts (post_id));
diesel::joinable!(likes -> users (user_id));
diesel::joinable!(password_resets -> users (user_id));
diesel::joinable!(posts -> users (author_id));
diesel::joinable!(replies -> posts (post_id));
diesel::joinable!(replies -> users (author_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(stories -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    goals,
    likes,
    password_resets,
    posts,
    replies,
    sessions,
    stories,
    users,
    verification_tokens,
);

diesel::table! {
    audit_events (id) {
        id -> Uuid,
        user_id -> Nullable<Uuid>,
        kind -> Text,
        ip -> Nullable<Inet>,
        user_agent -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    email_outbox (id) {
        id -> Uuid,
        user_id -> Nullable<Uuid>,
        recipient -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        expires_at -> Timestamptz,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    rate_limit_buckets (key) {
        key -> Text,
        window_start -> Timestamptz,
        count -> Int4,
    }
}

diesel::joinable!(audit_events -> users (user_id));
diesel::joinable!(email_outbox -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(
    audit_events,
    email_outbox,
    rate_limit_buckets,
    users
);

diesel::table! {
    oauth_states (state_sha256) {
        state_sha256 -> Bytea,
        provider -> Text,
        pkce_verifier -> Text,
        nonce -> Text,
        redirect_to -> Text,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::NotificationKind;

    notifications (id) {
        id -> Uuid,
        recipient_id -> Uuid,
        actor_id -> Uuid,
        kind -> NotificationKind,
        post_id -> Uuid,
        reply_id -> Nullable<Uuid>,
        read_at -> Nullable<Timestamptz>,
        withdrawn -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    legacy_ids (model, legacy_id) {
        model -> Text,
        legacy_id -> Text,
        id -> Nullable<Uuid>,
        imported_at -> Timestamptz,
    }
}

diesel::table! {
    /// Values that broke the API's rules when they became constraints, kept as
    /// they were (migration 2026-12-06-100002); read only by the export.
    quarantined_values (id) {
        id -> Uuid,
        user_id -> Uuid,
        table_name -> Text,
        row_id -> Uuid,
        column_name -> Text,
        original -> Nullable<Text>,
        original_list -> Nullable<Array<Text>>,
        quarantined_at -> Timestamptz,
    }
}

diesel::table! {
    server_keys (name) {
        name -> Text,
        secret -> Bytea,
        created_at -> Timestamptz,
    }
}
