-- The log's identity: the database refuses to be signed by any other key.
CREATE TABLE log_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    origin TEXT NOT NULL,
    verifier_key TEXT NOT NULL
);

-- The tree head. Every sequencing round locks this row, so rounds never interleave.
CREATE TABLE log_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    tree_size BIGINT NOT NULL,
    root_hash BLOB NOT NULL,
    checkpoint TEXT NOT NULL
);

-- Entries exactly as signed: the leaf data.
CREATE TABLE log_entries (
    entry_index INTEGER PRIMARY KEY,
    leaf_hash BLOB NOT NULL,
    kind TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX log_entries_by_leaf_hash ON log_entries (leaf_hash);

-- The Merkle tree as Go sumdb/tlog stored hashes (complete subtrees), by stored-hash index.
CREATE TABLE log_hashes (
    hash_index INTEGER PRIMARY KEY,
    hash BLOB NOT NULL
);

-- Every checkpoint the log has signed: proofs can be made at any of these sizes.
CREATE TABLE log_checkpoints (
    tree_size INTEGER PRIMARY KEY,
    root_hash BLOB NOT NULL,
    note TEXT NOT NULL,
    signed_at BIGINT NOT NULL
);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    public_key TEXT,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
