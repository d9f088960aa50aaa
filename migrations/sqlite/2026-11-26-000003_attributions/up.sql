-- Recorded attributions. An attribution's id is the log index of its "attribution recorded"
-- entry. `details` holds what the API shows (the use, the match, the obligations, the credit
-- in every markup) as JSON; the columns beside it are what queries filter on.
CREATE TABLE attributions (
    attribution_id INTEGER PRIMARY KEY,
    work_id BIGINT NOT NULL REFERENCES works (work_id),
    publisher_id BIGINT NOT NULL REFERENCES accounts (id),
    -- The publisher appears in the public log only as SHA-256(salt || account name). Erasing
    -- the publisher's personal data sets the salt to NULL: the commitment can no longer be
    -- opened, and every proof still verifies.
    publisher_salt BLOB,
    media_sha256 BLOB NOT NULL,
    -- `fingerprint::Fingerprints` as JSON, for finding attributions by image.
    media_fingerprints TEXT NOT NULL,
    published_url TEXT,
    state TEXT NOT NULL,
    details TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    -- The log index of the latest entry that changed the state.
    updated_by_entry BIGINT NOT NULL
);
CREATE INDEX attributions_by_work ON attributions (work_id);
CREATE INDEX attributions_by_publisher ON attributions (publisher_id);
CREATE INDEX attributions_by_media ON attributions (media_sha256);
CREATE INDEX attributions_by_url ON attributions (published_url);

-- Every log entry about an attribution, in log order: its history.
CREATE TABLE attribution_events (
    entry_index INTEGER PRIMARY KEY,
    attribution_id BIGINT NOT NULL REFERENCES attributions (attribution_id),
    kind TEXT NOT NULL,
    reason TEXT
);
CREATE INDEX attribution_events_by_attribution ON attribution_events (attribution_id);

-- Digests of the note texts that accounts signed, so a signed request cannot be replayed.
CREATE TABLE signed_requests (
    note_sha256 BLOB PRIMARY KEY,
    entry_index BIGINT NOT NULL
);
