-- Registered works. A work's id is the log index of its "work registered" entry, so the id
-- itself points at the signed record of the registration.
CREATE TABLE works (
    work_id INTEGER PRIMARY KEY,
    owner_id BIGINT NOT NULL REFERENCES accounts (id),
    -- The owner appears in the public log only as SHA-256(salt || account id); the salt stays
    -- here so the commitment can be opened in a dispute.
    owner_salt BLOB NOT NULL,
    title TEXT NOT NULL,
    creator TEXT NOT NULL,
    source_url TEXT,
    license_id TEXT NOT NULL,
    external_id TEXT,
    content_usage TEXT,
    sha256 BLOB NOT NULL,
    fingerprints TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    -- The log index of the latest entry that changed the licence or the AI preferences.
    updated_by_entry BIGINT NOT NULL
);
CREATE INDEX works_by_sha256 ON works (sha256);
CREATE INDEX works_by_owner ON works (owner_id);
CREATE INDEX works_by_license ON works (license_id);

-- Every log entry about a work, in log order: its history.
CREATE TABLE work_events (
    entry_index INTEGER PRIMARY KEY,
    work_id BIGINT NOT NULL REFERENCES works (work_id),
    kind TEXT NOT NULL
);
CREATE INDEX work_events_by_work ON work_events (work_id);
