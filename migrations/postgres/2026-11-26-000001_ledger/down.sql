DROP TABLE accounts;
DROP TABLE log_checkpoints;
DROP TABLE log_hashes;
DROP TABLE log_entries;
DROP TABLE log_head;
DROP TABLE log_meta;
