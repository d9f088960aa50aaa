//! The log's tables: entries, stored hashes, checkpoints and the locked head.

use std::cell::RefCell;
use std::ops::Range;

use diesel::prelude::*;

use super::schema::{
    log_checkpoints, log_entries, log_hashes, log_head, log_leaf_index, log_leaf_index_state,
    log_meta,
};
use super::{DbConnection, Store, StoreError};
use crate::ledger::{
    Hash, HashReader, LedgerError, LockedLog, LogAppend, LogKey, TreeHead, EMPTY_ROOT,
};

/// Inserts `rows` into `table` on the concrete connection. PostgreSQL gets multi-row
/// statements, a round trip per thousand rows. SQLite gets one cached single-row statement per
/// row: a statement that may write several rows inside a transaction makes SQLite keep a
/// statement journal, which under load was a quarter of what a round wrote to disk, and a
/// multi-row statement of a new length is compiled afresh.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            DbConnection::Sqlite(c) => $rows.iter().try_for_each(|row| {
                diesel::insert_into($table)
                    .values(row.clone())
                    .execute(c)
                    .map(drop)
            }),
            DbConnection::Postgres(c) => $rows.chunks(INSERT_CHUNK).try_for_each(|chunk| {
                diesel::insert_into($table)
                    .values(chunk)
                    .execute(c)
                    .map(drop)
            }),
        }
    };
}

/// PostgreSQL allows 65,535 bound parameters per statement; four columns a row stays well
/// below.
const INSERT_CHUNK: usize = 1_000;

fn to_i64(n: u64) -> Result<i64, LedgerError> {
    i64::try_from(n).map_err(|_| LedgerError::Storage(format!("{n} does not fit the database")))
}

fn to_hash(bytes: Vec<u8>) -> Result<Hash, LedgerError> {
    let array: [u8; 32] = bytes
        .try_into()
        .map_err(|_| LedgerError::Storage("a stored hash is not 32 bytes".into()))?;
    Ok(Hash(array))
}

fn storage(err: diesel::result::Error) -> LedgerError {
    LedgerError::Storage(err.to_string())
}

/// Stored hashes read through one connection.
pub struct DbHashes<'c> {
    conn: RefCell<&'c mut DbConnection>,
}

impl<'c> DbHashes<'c> {
    pub fn new(conn: &'c mut DbConnection) -> Self {
        Self {
            conn: RefCell::new(conn),
        }
    }
}

impl HashReader for DbHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        let wanted = indexes
            .iter()
            .map(|&i| i64::try_from(i))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| tlog_tiles::Error::IndexesNotInTree)?;
        let mut conn = self.conn.borrow_mut();
        let rows: Vec<(i64, Vec<u8>)> = log_hashes::table
            .filter(log_hashes::hash_index.eq_any(&wanted))
            .select((log_hashes::hash_index, log_hashes::hash))
            .load(&mut **conn)
            .map_err(|e| tlog_tiles::Error::InvalidInput(format!("database: {e}")))?;
        let found: std::collections::HashMap<i64, Vec<u8>> = rows.into_iter().collect();
        wanted
            .iter()
            .map(|i| {
                let bytes = found.get(i).ok_or(tlog_tiles::Error::IndexesNotInTree)?;
                let array: [u8; 32] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| tlog_tiles::Error::MalformedHash)?;
                Ok(Hash(array))
            })
            .collect()
    }
}

/// The log inside a transaction that holds the row lock on its head.
pub struct LockedDbLog<'c> {
    hashes: DbHashes<'c>,
}

impl LockedDbLog<'_> {
    /// The connection of the round's transaction, for the rows written along with entries.
    pub(super) fn conn(&mut self) -> &mut DbConnection {
        self.hashes.conn.get_mut()
    }
}

impl HashReader for LockedDbLog<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        self.hashes.read_hashes(indexes)
    }
}

impl LockedLog for LockedDbLog<'_> {
    fn head(&mut self) -> Result<TreeHead, LedgerError> {
        let conn: &mut DbConnection = self.hashes.conn.get_mut();
        let head = log_head::table
            .find(1i64)
            .select((log_head::tree_size, log_head::root_hash));
        // The lock that serialises rounds, across processes sharing one database.
        let (size, root): (i64, Vec<u8>) = match conn {
            DbConnection::Postgres(pg) => head.for_update().first(pg),
            DbConnection::Sqlite(lite) => {
                // SQLite has no row locks; a write takes the database's write lock, which
                // `busy_timeout` then waits for, instead of failing on a read-to-write upgrade.
                diesel::update(log_head::table.find(1i64))
                    .set(log_head::tree_size.eq(log_head::tree_size))
                    .execute(lite)
                    .and_then(|_| head.first(lite))
            }
        }
        .map_err(storage)?;
        Ok(TreeHead {
            size: size as u64,
            root: to_hash(root)?,
        })
    }

    fn write(&mut self, append: LogAppend<'_>) -> Result<(), LedgerError> {
        let conn: &mut DbConnection = self.hashes.conn.get_mut();
        let mut entry_rows = Vec::with_capacity(append.entries.len());
        for (offset, (entry, leaf)) in append.entries.iter().zip(append.leaf_hashes).enumerate() {
            entry_rows.push((
                log_entries::entry_index.eq(to_i64(append.first_index + offset as u64)?),
                log_entries::leaf_hash.eq(leaf.0.as_slice()),
                log_entries::kind.eq(entry.kind.as_str()),
                log_entries::data.eq(entry.bytes.as_slice()),
            ));
        }
        insert_rows!(conn, log_entries::table, entry_rows).map_err(storage)?;
        let mut hash_rows = Vec::with_capacity(append.hashes.len());
        for (index, hash) in append.hashes {
            hash_rows.push((
                log_hashes::hash_index.eq(to_i64(*index)?),
                log_hashes::hash.eq(hash.0.as_slice()),
            ));
        }
        insert_rows!(conn, log_hashes::table, hash_rows).map_err(storage)?;
        let checkpoint = &append.checkpoint.checkpoint;
        diesel::insert_into(log_checkpoints::table)
            .values((
                log_checkpoints::tree_size.eq(to_i64(checkpoint.size)?),
                log_checkpoints::root_hash.eq(checkpoint.root.0.to_vec()),
                log_checkpoints::note.eq(&append.checkpoint.note),
                log_checkpoints::signed_at.eq(unix_now()),
            ))
            .execute(conn)
            .map_err(storage)?;
        diesel::update(log_head::table.find(1i64))
            .set((
                log_head::tree_size.eq(to_i64(checkpoint.size)?),
                log_head::root_hash.eq(checkpoint.root.0.to_vec()),
                log_head::checkpoint.eq(&append.checkpoint.note),
            ))
            .execute(conn)
            .map_err(storage)?;
        Ok(())
    }
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Read access to the log's rows.
pub struct LogRows<'c> {
    conn: &'c mut DbConnection,
}

impl<'c> LogRows<'c> {
    pub fn new(conn: &'c mut DbConnection) -> Self {
        Self { conn }
    }

    pub fn hashes(&mut self) -> DbHashes<'_> {
        DbHashes::new(self.conn)
    }

    /// The latest checkpoint: its size, root and signed note.
    pub fn head(&mut self) -> Result<(TreeHead, String), StoreError> {
        let (size, root, note): (i64, Vec<u8>, String) = log_head::table
            .find(1i64)
            .select((
                log_head::tree_size,
                log_head::root_hash,
                log_head::checkpoint,
            ))
            .first(self.conn)?;
        let root = to_hash(root)?;
        Ok((
            TreeHead {
                size: size as u64,
                root,
            },
            note,
        ))
    }

    /// The checkpoint signed at exactly `size`, if the log signed one there.
    pub fn checkpoint_at(&mut self, size: u64) -> Result<Option<String>, StoreError> {
        Ok(log_checkpoints::table
            .find(to_i64(size)?)
            .select(log_checkpoints::note)
            .first(self.conn)
            .optional()?)
    }

    /// Sizes at which checkpoints were signed, with the time of signing, newest first.
    pub fn checkpoint_history(&mut self, limit: i64) -> Result<Vec<(u64, i64)>, StoreError> {
        let rows: Vec<(i64, i64)> = log_checkpoints::table
            .select((log_checkpoints::tree_size, log_checkpoints::signed_at))
            .order(log_checkpoints::tree_size.desc())
            .limit(limit)
            .load(self.conn)?;
        Ok(rows.into_iter().map(|(s, t)| (s as u64, t)).collect())
    }

    pub fn entries(&mut self, range: Range<u64>) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(log_entries::table
            .filter(log_entries::entry_index.ge(to_i64(range.start)?))
            .filter(log_entries::entry_index.lt(to_i64(range.end)?))
            .order(log_entries::entry_index)
            .select(log_entries::data)
            .load(self.conn)?)
    }

    pub fn entry(&mut self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        // No log grows past i64::MAX entries; a larger index names no entry.
        let Ok(index) = i64::try_from(index) else {
            return Ok(None);
        };
        Ok(log_entries::table
            .find(index)
            .select(log_entries::data)
            .first(self.conn)
            .optional()?)
    }

    /// The first index at which an entry with this leaf hash was logged.
    ///
    /// The leaf index is filled behind the sequencer ([`Store::index_leaves`]); entries past
    /// what it covers are scanned. The coverage is read first: entries are never removed, so
    /// scanning from an older bound than an indexer has meanwhile committed misses nothing.
    pub fn index_of_leaf(&mut self, leaf: &Hash) -> Result<Option<u64>, StoreError> {
        let indexed_up_to: i64 = log_leaf_index_state::table
            .find(1i64)
            .select(log_leaf_index_state::indexed_up_to)
            .first(self.conn)?;
        let indexed: Option<i64> = log_leaf_index::table
            .filter(log_leaf_index::leaf_hash.eq(leaf.0.as_slice()))
            .select(diesel::dsl::min(log_leaf_index::entry_index))
            .first(self.conn)?;
        if let Some(index) = indexed {
            return Ok(Some(index as u64));
        }
        let index: Option<i64> = log_entries::table
            .filter(log_entries::entry_index.ge(indexed_up_to))
            .filter(log_entries::leaf_hash.eq(leaf.0.as_slice()))
            .select(log_entries::entry_index)
            .order(log_entries::entry_index)
            .first(self.conn)
            .optional()?;
        Ok(index.map(|i| i as u64))
    }

    /// Entry counts by kind.
    pub fn kind_totals(&mut self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(log_entries::table
            .group_by(log_entries::kind)
            .select((log_entries::kind, diesel::dsl::count_star()))
            .load(self.conn)?)
    }
}

impl From<LedgerError> for StoreError {
    fn from(err: LedgerError) -> Self {
        StoreError::Corrupt(err.to_string())
    }
}

/// Errors inside a locked round: the ledger's own, or the database's.
#[derive(Debug, thiserror::Error)]
pub enum RoundError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Store {
    /// Binds the database to the log's key on first use, and writes the empty tree's
    /// checkpoint. Refuses a key other than the one the database was created with: signing the
    /// same sizes with another tree would fork the log.
    pub fn init_log(&self, key: &LogKey) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let verifier = key.verifier();
        conn.transaction(|conn| {
            let existing: Option<(String, String)> = log_meta::table
                .find(1i64)
                .select((log_meta::origin, log_meta::verifier_key))
                .first(conn)
                .optional()?;
            match existing {
                Some((_, stored)) if stored == verifier.as_text() => Ok(()),
                Some((origin, stored)) => Err(StoreError::Conflict(format!(
                    "this database belongs to log {origin} with key {stored}; \
                     the configured key is {}",
                    verifier.as_text()
                ))),
                None => {
                    let empty = crate::ledger::Checkpoint {
                        size: 0,
                        root: EMPTY_ROOT,
                    }
                    .sign(key)?;
                    diesel::insert_into(log_meta::table)
                        .values((
                            log_meta::id.eq(1i64),
                            log_meta::origin.eq(key.name()),
                            log_meta::verifier_key.eq(verifier.as_text()),
                        ))
                        .execute(conn)?;
                    diesel::insert_into(log_head::table)
                        .values((
                            log_head::id.eq(1i64),
                            log_head::tree_size.eq(0i64),
                            log_head::root_hash.eq(EMPTY_ROOT.0.to_vec()),
                            log_head::checkpoint.eq(&empty.note),
                        ))
                        .execute(conn)?;
                    diesel::insert_into(log_checkpoints::table)
                        .values((
                            log_checkpoints::tree_size.eq(0i64),
                            log_checkpoints::root_hash.eq(EMPTY_ROOT.0.to_vec()),
                            log_checkpoints::note.eq(&empty.note),
                            log_checkpoints::signed_at.eq(unix_now()),
                        ))
                        .execute(conn)?;
                    Ok(())
                }
            }
        })
    }

    /// Runs `round` in one transaction holding the lock on the log's head, and commits it.
    /// When this returns `Ok`, what the round wrote is durable.
    pub fn with_locked_log<T>(
        &self,
        round: impl FnOnce(&mut LockedDbLog<'_>) -> Result<T, LedgerError>,
    ) -> Result<T, RoundError> {
        let mut conn = self
            .conn()
            .map_err(|e| LedgerError::Storage(e.to_string()))?;
        conn.transaction(|conn| {
            let mut log = LockedDbLog {
                hashes: DbHashes::new(conn),
            };
            Ok(round(&mut log)?)
        })
    }

    /// Adds up to `limit` entries, from where the leaf index ends, to the leaf index, in one
    /// transaction; answers how many it added. Locks the index's state row first, so indexers
    /// on several nodes take turns; the rows are inserted in hash order, which keeps the pages
    /// one batch writes together.
    pub fn index_leaves(&self, limit: u64) -> Result<u64, StoreError> {
        let mut pooled = self.conn()?;
        let conn: &mut DbConnection = &mut pooled;
        conn.transaction(|conn| {
            let state = log_leaf_index_state::table.find(1i64);
            let from: i64 = match conn {
                DbConnection::Postgres(pg) => state
                    .select(log_leaf_index_state::indexed_up_to)
                    .for_update()
                    .first(pg)?,
                DbConnection::Sqlite(lite) => {
                    // As for the head: write first, so the transaction holds the write lock.
                    diesel::update(state)
                        .set(
                            log_leaf_index_state::indexed_up_to
                                .eq(log_leaf_index_state::indexed_up_to),
                        )
                        .execute(lite)?;
                    state
                        .select(log_leaf_index_state::indexed_up_to)
                        .first(lite)?
                }
            };
            let mut rows: Vec<(i64, Vec<u8>)> = log_entries::table
                .filter(log_entries::entry_index.ge(from))
                .order(log_entries::entry_index)
                .limit(to_i64(limit)?)
                .select((log_entries::entry_index, log_entries::leaf_hash))
                .load(conn)?;
            let Some(&(last, _)) = rows.last() else {
                return Ok(0);
            };
            let added = rows.len() as u64;
            rows.sort_unstable_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
            let values: Vec<_> = rows
                .iter()
                .map(|(index, leaf)| {
                    (
                        log_leaf_index::leaf_hash.eq(leaf.as_slice()),
                        log_leaf_index::entry_index.eq(*index),
                    )
                })
                .collect();
            insert_rows!(conn, log_leaf_index::table, values)?;
            diesel::update(state)
                .set(log_leaf_index_state::indexed_up_to.eq(last + 1))
                .execute(conn)?;
            Ok(added)
        })
    }

    /// Read access on a pooled connection.
    pub fn read<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut LogRows<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.conn()?;
        f(&mut LogRows::new(&mut conn))
    }
}

impl From<RoundError> for StoreError {
    fn from(err: RoundError) -> Self {
        match err {
            RoundError::Ledger(e) => StoreError::Corrupt(e.to_string()),
            RoundError::Database(e) => StoreError::Query(e),
        }
    }
}
