//! Bounded in-memory copies of what the log never changes once written, so that proof and
//! tile reads rarely reach the database.
//!
//! Stored hashes, signed checkpoints and full tiles are immutable: a cached copy can never be
//! stale. Only the tree head moves. This node learns its own rounds' heads as they commit (so a
//! client always reads its own appends), and re-reads the head from the database once the
//! cached one is older than [`HEAD_MAX_AGE`], which is how appends made by other nodes on the
//! same PostgreSQL become visible.

use std::cell::RefCell;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use quick_cache::sync::Cache;
use quick_cache::Weighter;
use tlog_tiles::{Hash, HashReader};

use crate::ledger::{TileRequest, TreeHead};
use crate::store::{DbHashes, PooledDb, Store, StoreError};

/// How long a head read from the database is served before it is read again.
pub const HEAD_MAX_AGE: Duration = Duration::from_millis(250);

/// Stored hashes kept: the upper levels of the tree, which every proof touches, stay cached;
/// 2^19 hashes (about 30 MiB) cover every hash of a log of 250,000 entries.
const CACHED_HASHES: usize = 1 << 19;
/// Signed checkpoints kept, by tree size.
const CACHED_CHECKPOINTS: usize = 4096;
/// Bytes of full tiles kept.
const CACHED_TILE_BYTES: u64 = 32 << 20;

#[derive(Clone)]
struct TileBytes;

impl Weighter<TileRequest, Bytes> for TileBytes {
    fn weight(&self, _: &TileRequest, tile: &Bytes) -> u64 {
        tile.len() as u64
    }
}

pub struct ReadCache {
    hashes: Cache<u64, Hash>,
    checkpoints: Cache<u64, Arc<str>>,
    full_tiles: Cache<TileRequest, Bytes, TileBytes>,
    head: RwLock<Option<CachedHead>>,
}

#[derive(Clone)]
struct CachedHead {
    read_at: Instant,
    head: TreeHead,
    note: Arc<str>,
}

impl Default for ReadCache {
    fn default() -> Self {
        Self::new()
    }
}

impl ReadCache {
    pub fn new() -> Self {
        Self {
            hashes: Cache::new(CACHED_HASHES),
            checkpoints: Cache::new(CACHED_CHECKPOINTS),
            full_tiles: Cache::with_weighter(
                (CACHED_TILE_BYTES / 8192) as usize,
                CACHED_TILE_BYTES,
                TileBytes,
            ),
            head: RwLock::new(None),
        }
    }

    /// Records a head this node has just committed (or read); never moves the head back.
    pub fn observe_head(&self, head: TreeHead, note: Arc<str>) {
        let mut cached = self.head.write().unwrap_or_else(|e| e.into_inner());
        let newer = cached.as_ref().is_none_or(|c| head.size >= c.head.size);
        if newer {
            self.checkpoints.insert(head.size, note.clone());
            *cached = Some(CachedHead {
                read_at: Instant::now(),
                head,
                note,
            });
        }
    }

    /// The latest head and its checkpoint note, read from the database when the cached one is
    /// older than [`HEAD_MAX_AGE`].
    pub fn head(&self, store: &Store) -> Result<(TreeHead, Arc<str>), StoreError> {
        if let Some(cached) = self.head.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
            if cached.read_at.elapsed() < HEAD_MAX_AGE {
                return Ok((cached.head, cached.note.clone()));
            }
        }
        let (head, note) = store.read(|rows| rows.head())?;
        let note: Arc<str> = note.into();
        self.observe_head(head, note.clone());
        // Another request may have observed a newer head meanwhile; answer the newest.
        let cached = self.head.read().unwrap_or_else(|e| e.into_inner());
        Ok(cached
            .as_ref()
            .map(|c| (c.head, c.note.clone()))
            .unwrap_or((head, note)))
    }

    /// The cached head, if it is younger than [`HEAD_MAX_AGE`]; answers without blocking.
    pub fn fresh_head(&self) -> Option<(TreeHead, Arc<str>)> {
        let cached = self.head.read().unwrap_or_else(|e| e.into_inner());
        cached
            .as_ref()
            .filter(|c| c.read_at.elapsed() < HEAD_MAX_AGE)
            .map(|c| (c.head, c.note.clone()))
    }

    /// The checkpoint signed at `size`, if it is in memory.
    pub fn cached_checkpoint(&self, size: u64) -> Option<Arc<str>> {
        self.checkpoints.get(&size)
    }

    /// Stored hashes from memory only: a miss is an error, for callers that then take the
    /// blocking path through [`Self::hashes`].
    pub fn memory_only(&self) -> MemoryOnly<'_> {
        MemoryOnly(self)
    }

    /// Like [`Self::head`], but reads the database when the cached head is smaller than
    /// `size`: a client that appended through another node asks for sizes this node may not
    /// have seen yet.
    pub fn head_covering(
        &self,
        store: &Store,
        size: u64,
    ) -> Result<(TreeHead, Arc<str>), StoreError> {
        let (head, note) = self.head(store)?;
        if head.size >= size {
            return Ok((head, note));
        }
        let (head, note) = store.read(|rows| rows.head())?;
        let note: Arc<str> = note.into();
        self.observe_head(head, note.clone());
        Ok((head, note))
    }

    /// The checkpoint signed at `size`, if there is one.
    pub fn checkpoint_at(&self, store: &Store, size: u64) -> Result<Option<Arc<str>>, StoreError> {
        if let Some(note) = self.checkpoints.get(&size) {
            return Ok(Some(note));
        }
        let note: Option<Arc<str>> = store.read(|rows| rows.checkpoint_at(size))?.map(Into::into);
        if let Some(note) = &note {
            self.checkpoints.insert(size, note.clone());
        }
        Ok(note)
    }

    pub fn full_tile(&self, tile: &TileRequest) -> Option<Bytes> {
        self.full_tiles.get(tile)
    }

    pub fn keep_full_tile(&self, tile: TileRequest, bytes: Bytes) {
        self.full_tiles.insert(tile, bytes);
    }

    /// The stored hashes at `indexes`, from memory where possible and from `miss` (called once,
    /// with the indexes not in memory) for the rest, which are then kept.
    pub fn read_through(
        &self,
        indexes: &[u64],
        miss: impl FnOnce(&[u64]) -> Result<Vec<Hash>, tlog_tiles::Error>,
    ) -> Result<Vec<Hash>, tlog_tiles::Error> {
        let mut found: Vec<Option<Hash>> = indexes.iter().map(|i| self.hashes.get(i)).collect();
        let missing: Vec<u64> = indexes
            .iter()
            .zip(&found)
            .filter(|(_, hash)| hash.is_none())
            .map(|(&i, _)| i)
            .collect();
        if !missing.is_empty() {
            let mut read = missing.iter().zip(miss(&missing)?);
            for (slot, &index) in found.iter_mut().zip(indexes) {
                if slot.is_none() {
                    let (&read_index, hash) =
                        read.next().ok_or(tlog_tiles::Error::IndexesNotInTree)?;
                    debug_assert_eq!(read_index, index);
                    self.hashes.insert(index, hash);
                    *slot = Some(hash);
                }
            }
        }
        Ok(found
            .into_iter()
            .map(|h| h.expect("filled above"))
            .collect())
    }

    /// Keeps hashes a committed round wrote: the newest are the most read.
    pub fn keep_hashes(&self, hashes: &[(u64, Hash)]) {
        for &(index, hash) in hashes {
            self.hashes.insert(index, hash);
        }
    }

    /// Stored hashes through this cache, with a database connection taken only on a miss.
    pub fn hashes<'a>(&'a self, store: &'a Store) -> CachedHashes<'a> {
        CachedHashes {
            cache: self,
            store,
            conn: RefCell::new(None),
        }
    }
}

pub struct CachedHashes<'a> {
    cache: &'a ReadCache,
    store: &'a Store,
    conn: RefCell<Option<PooledDb>>,
}

impl HashReader for CachedHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        self.cache.read_through(indexes, |missing| {
            let mut conn = self.conn.borrow_mut();
            if conn.is_none() {
                *conn = Some(
                    self.store
                        .conn()
                        .map_err(|e| tlog_tiles::Error::InvalidInput(format!("database: {e}")))?,
                );
            }
            let conn = conn.as_mut().expect("connected above");
            DbHashes::new(conn).read_hashes(missing)
        })
    }
}

pub struct MemoryOnly<'a>(&'a ReadCache);

impl HashReader for MemoryOnly<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|i| {
                self.0
                    .hashes
                    .get(i)
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}
