-- Entries by leaf hash, filled behind the sequencer in large sorted batches instead of by every
-- round: an index on a hash takes its inserts at random pages, and writing those pages in
-- every round's commit was most of what a round wrote. Entries at or past `indexed_up_to` are
-- not in it yet; a lookup scans them (see `LogRows::index_of_leaf`).
DROP INDEX log_entries_by_leaf_hash;
CREATE TABLE log_leaf_index (
    leaf_hash BLOB NOT NULL,
    entry_index INTEGER NOT NULL,
    PRIMARY KEY (leaf_hash, entry_index)
) WITHOUT ROWID;
CREATE TABLE log_leaf_index_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_up_to BIGINT NOT NULL
);
INSERT INTO log_leaf_index (leaf_hash, entry_index)
    SELECT leaf_hash, entry_index FROM log_entries ORDER BY leaf_hash, entry_index;
INSERT INTO log_leaf_index_state (id, indexed_up_to)
    SELECT 1, COALESCE(MAX(entry_index) + 1, 0) FROM log_entries;
