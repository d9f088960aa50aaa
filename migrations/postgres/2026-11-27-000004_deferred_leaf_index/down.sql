DROP TABLE log_leaf_index_state;
DROP TABLE log_leaf_index;
CREATE INDEX log_entries_by_leaf_hash ON log_entries (leaf_hash);
