-- A small preview of each registered work, for people comparing matches. Written after the
-- work's entry has committed: it is not ledger data, and a lost thumbnail changes no proof.
CREATE TABLE work_thumbnails (
    work_id BIGINT PRIMARY KEY REFERENCES works (work_id),
    content_type TEXT NOT NULL,
    image BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
