//! The one diesel schema, shared by SQLite and PostgreSQL.

diesel::table! {
    log_meta (id) {
        id -> BigInt,
        origin -> Text,
        verifier_key -> Text,
    }
}

diesel::table! {
    log_head (id) {
        id -> BigInt,
        tree_size -> BigInt,
        root_hash -> Binary,
        checkpoint -> Text,
    }
}

diesel::table! {
    log_entries (entry_index) {
        entry_index -> BigInt,
        leaf_hash -> Binary,
        kind -> Text,
        data -> Binary,
    }
}

diesel::table! {
    log_hashes (hash_index) {
        hash_index -> BigInt,
        hash -> Binary,
    }
}

diesel::table! {
    log_checkpoints (tree_size) {
        tree_size -> BigInt,
        root_hash -> Binary,
        note -> Text,
        signed_at -> BigInt,
    }
}

diesel::table! {
    log_leaf_index (leaf_hash, entry_index) {
        leaf_hash -> Binary,
        entry_index -> BigInt,
    }
}

diesel::table! {
    log_leaf_index_state (id) {
        id -> BigInt,
        indexed_up_to -> BigInt,
    }
}

diesel::table! {
    accounts (id) {
        id -> BigInt,
        name -> Text,
        role -> Text,
        token_hash -> Binary,
        public_key -> Nullable<Text>,
        created_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    works (work_id) {
        work_id -> BigInt,
        owner_id -> BigInt,
        owner_salt -> Binary,
        title -> Text,
        creator -> Text,
        source_url -> Nullable<Text>,
        license_id -> Text,
        external_id -> Nullable<Text>,
        content_usage -> Nullable<Text>,
        sha256 -> Binary,
        fingerprints -> Text,
        registered_at -> BigInt,
        updated_by_entry -> BigInt,
    }
}

diesel::table! {
    work_events (entry_index) {
        entry_index -> BigInt,
        work_id -> BigInt,
        kind -> Text,
    }
}

diesel::table! {
    attributions (attribution_id) {
        attribution_id -> BigInt,
        work_id -> BigInt,
        publisher_id -> BigInt,
        publisher_salt -> Nullable<Binary>,
        media_sha256 -> Binary,
        media_fingerprints -> Text,
        published_url -> Nullable<Text>,
        state -> Text,
        details -> Text,
        recorded_at -> BigInt,
        updated_by_entry -> BigInt,
    }
}

diesel::table! {
    attribution_events (entry_index) {
        entry_index -> BigInt,
        attribution_id -> BigInt,
        kind -> Text,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    signed_requests (note_sha256) {
        note_sha256 -> Binary,
        entry_index -> BigInt,
    }
}

diesel::table! {
    work_thumbnails (work_id) {
        work_id -> BigInt,
        content_type -> Text,
        image -> Binary,
        created_at -> BigInt,
    }
}

diesel::table! {
    work_features (work_id) {
        work_id -> BigInt,
        algorithm -> Text,
        features -> Binary,
    }
}

diesel::joinable!(works -> accounts (owner_id));
diesel::joinable!(work_features -> works (work_id));
diesel::joinable!(work_thumbnails -> works (work_id));

diesel::allow_tables_to_appear_in_same_query!(
    log_meta,
    log_head,
    log_entries,
    log_hashes,
    log_checkpoints,
    log_leaf_index,
    log_leaf_index_state,
    accounts,
    works,
    work_events,
    work_thumbnails,
    work_features,
    attributions,
    attribution_events,
    signed_requests,
);
