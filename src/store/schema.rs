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

diesel::allow_tables_to_appear_in_same_query!(
    log_meta,
    log_head,
    log_entries,
    log_hashes,
    log_checkpoints,
    accounts,
);
