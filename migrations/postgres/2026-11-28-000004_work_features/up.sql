-- Local features of each registered work (keypoints with binary descriptors), for finding
-- the work in partial copies: crops, small rotations, overlays. Written in the same round as
-- the work, so every node that sees the work sees its features. Not ledger data: the log
-- records the global fingerprints. Features stored under another algorithm version are
-- ignored, never compared; `provenance works add-features` recomputes them from the original
-- files.
CREATE TABLE work_features (
    work_id BIGINT PRIMARY KEY REFERENCES works (work_id),
    algorithm TEXT NOT NULL,
    features BYTEA NOT NULL
);
