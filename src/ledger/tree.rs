//! The RFC 9162 Merkle tree, persisted as Go `sumdb/tlog` "stored hashes".
//!
//! Each stored hash is the root of a complete subtree (level L, index n), kept under a dense
//! index (`tlog_tiles::stored_hash_index`). Appending record n writes about two hashes and reads
//! at most log2(n) earlier ones, so an append costs O(log n) hashing and storage and the tree is
//! never rebuilt. Proofs read O(log n) stored hashes.

use std::cell::RefCell;
use std::collections::HashMap;

use tlog_tiles::{Hash, HashReader};

use super::LedgerError;

/// RFC 9162 leaf hash: SHA-256(0x00 || entry bytes).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    tlog_tiles::record_hash(entry)
}

/// The leaf hash of entry `index` as stored in the tree.
pub fn stored_leaf_hash(index: u64, reader: &impl HashReader) -> Result<Hash, LedgerError> {
    let stored = reader.read_hashes(&[tlog_tiles::stored_hash_index(0, index)])?;
    stored
        .first()
        .copied()
        .ok_or_else(|| LedgerError::Storage(format!("the leaf hash of entry {index} is missing")))
}

/// The root hash of the first `size` leaves.
pub fn tree_root(size: u64, reader: &impl HashReader) -> Result<Hash, LedgerError> {
    Ok(tlog_tiles::tree_hash(size, reader)?)
}

/// The RFC 9162 audit path of leaf `index` in the tree of `tree_size` leaves, leaf's sibling
/// first.
pub fn prove_inclusion(
    index: u64,
    tree_size: u64,
    reader: &impl HashReader,
) -> Result<Vec<Hash>, LedgerError> {
    if index >= tree_size {
        return Err(LedgerError::IndexBeyondTree { index, tree_size });
    }
    Ok(tlog_tiles::prove_record(tree_size, index, reader)?)
}

/// The RFC 9162 consistency proof `PROOF(old_size, D[new_size])`. Empty when the sizes are
/// equal or the old tree is empty: both are trivially consistent.
pub fn prove_consistency(
    old_size: u64,
    new_size: u64,
    reader: &impl HashReader,
) -> Result<Vec<Hash>, LedgerError> {
    if old_size > new_size {
        return Err(LedgerError::SizesOutOfOrder { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        return Ok(Vec::new());
    }
    Ok(tlog_tiles::prove_tree(new_size, old_size, reader)?)
}

pub fn verify_inclusion(
    proof: &[Hash],
    tree_size: u64,
    root: Hash,
    index: u64,
    leaf: Hash,
) -> Result<(), LedgerError> {
    if index >= tree_size {
        return Err(LedgerError::IndexBeyondTree { index, tree_size });
    }
    Ok(tlog_tiles::check_record(
        &proof.to_vec(),
        tree_size,
        root,
        index,
        leaf,
    )?)
}

pub fn verify_consistency(
    proof: &[Hash],
    old_size: u64,
    old_root: Hash,
    new_size: u64,
    new_root: Hash,
) -> Result<(), LedgerError> {
    if old_size > new_size {
        return Err(LedgerError::SizesOutOfOrder { old_size, new_size });
    }
    if old_size == 0 {
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(LedgerError::InvalidProof)
        };
    }
    if old_size == new_size {
        return if proof.is_empty() && old_root == new_root {
            Ok(())
        } else {
            Err(LedgerError::InvalidProof)
        };
    }
    Ok(tlog_tiles::check_tree(
        &proof.to_vec(),
        new_size,
        new_root,
        old_size,
        old_root,
    )?)
}

/// Sequences a batch of entries onto a tree of known size, collecting the stored hashes to
/// persist. Hashes written or read earlier in the same batch are served from memory, so one
/// batch reads O(log n) hashes from storage, not O(batch × log n).
pub struct BatchAppender<'a, R: HashReader> {
    storage: &'a R,
    start_size: u64,
    size: u64,
    /// Every hash this batch wrote or read, by stored-hash index.
    known: RefCell<HashMap<u64, Hash>>,
    new_hashes: Vec<(u64, Hash)>,
    leaf_hashes: Vec<Hash>,
}

impl<'a, R: HashReader> BatchAppender<'a, R> {
    pub fn new(start_size: u64, storage: &'a R) -> Self {
        Self {
            storage,
            start_size,
            size: start_size,
            known: RefCell::new(HashMap::new()),
            new_hashes: Vec::new(),
            leaf_hashes: Vec::new(),
        }
    }

    /// Appends one entry; answers its index.
    pub fn append(&mut self, entry: &[u8]) -> Result<u64, LedgerError> {
        self.append_leaf(leaf_hash(entry))
    }

    /// Appends one entry by its leaf hash, for callers that hashed the entry already (the
    /// auditor hashes entries on several threads); answers its index.
    pub fn append_leaf(&mut self, leaf: Hash) -> Result<u64, LedgerError> {
        let index = self.size;
        let hashes = tlog_tiles::stored_hashes_for_record_hash(index, leaf, &*self)?;
        let first = tlog_tiles::stored_hash_index(0, index);
        let mut known = self.known.borrow_mut();
        for (offset, hash) in hashes.into_iter().enumerate() {
            let stored_index = first + offset as u64;
            known.insert(stored_index, hash);
            self.new_hashes.push((stored_index, hash));
        }
        drop(known);
        self.leaf_hashes.push(leaf);
        self.size += 1;
        Ok(index)
    }

    pub fn start_size(&self) -> u64 {
        self.start_size
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the tree including every entry appended so far.
    pub fn root(&self) -> Result<Hash, LedgerError> {
        tree_root(self.size, self)
    }

    /// The stored hashes to persist, as (stored-hash index, hash), in index order.
    pub fn new_hashes(&self) -> &[(u64, Hash)] {
        &self.new_hashes
    }

    /// The leaf hashes of the appended entries, in order.
    pub fn leaf_hashes(&self) -> &[Hash] {
        &self.leaf_hashes
    }
}

impl<R: HashReader> HashReader for BatchAppender<'_, R> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        let mut known = self.known.borrow_mut();
        let missing: Vec<u64> = indexes
            .iter()
            .copied()
            .filter(|i| !known.contains_key(i))
            .collect();
        if !missing.is_empty() {
            // Hashes from storage are remembered too: the proofs for a whole batch share most
            // of their nodes.
            let fetched = self.storage.read_hashes(&missing)?;
            known.extend(missing.into_iter().zip(fetched));
        }
        indexes
            .iter()
            .map(|i| known.get(i).copied())
            .collect::<Option<Vec<_>>>()
            .ok_or(tlog_tiles::Error::IndexesNotInTree)
    }
}

/// An in-memory hash store, for tests and for offline tools that rebuild a tree.
#[derive(Debug, Default, Clone)]
pub struct MemoryHashes(pub HashMap<u64, Hash>);

impl HashReader for MemoryHashes {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|i| self.0.get(i).copied())
            .collect::<Option<Vec<_>>>()
            .ok_or(tlog_tiles::Error::IndexesNotInTree)
    }
}

impl MemoryHashes {
    /// Builds the stored hashes of a tree over `entries`.
    pub fn build<T: AsRef<[u8]>>(entries: &[T]) -> Self {
        let mut store = MemoryHashes::default();
        let mut appender = BatchAppender::new(0, &store);
        for entry in entries {
            appender
                .append(entry.as_ref())
                .expect("an in-memory tree has every hash it needs");
        }
        let hashes = appender.new_hashes().to_vec();
        store.0.extend(hashes);
        store
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// A direct transcription of RFC 9162 §2.1.1's recursive definition, as an oracle.
    fn reference_root(leaves: &[Vec<u8>]) -> [u8; 32] {
        match leaves.len() {
            0 => Sha256::digest(b"").into(),
            1 => leaf_hash(&leaves[0]).0,
            n => {
                let k = largest_power_of_two_below(n);
                let mut h = Sha256::new();
                h.update([1u8]);
                h.update(reference_root(&leaves[..k]));
                h.update(reference_root(&leaves[k..]));
                h.finalize().into()
            }
        }
    }

    fn largest_power_of_two_below(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    fn entries(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("entry {i}").into_bytes()).collect()
    }

    #[test]
    fn roots_match_the_rfc_definition_for_every_size_up_to_300() {
        let all = entries(300);
        let store = MemoryHashes::build(&all);
        for n in 0..=all.len() {
            let root = tree_root(n as u64, &store).unwrap();
            assert_eq!(root.0, reference_root(&all[..n]), "size {n}");
        }
    }

    #[test]
    fn batches_of_any_split_give_the_same_hashes_as_one_batch() {
        let all = entries(97);
        let whole = MemoryHashes::build(&all);
        let mut store = MemoryHashes::default();
        for chunk in all.chunks(13) {
            let start = store.0.len() as u64;
            let size = (0..)
                .find(|n| tlog_tiles::stored_hash_count(*n) == start)
                .unwrap();
            let mut appender = BatchAppender::new(size, &store);
            for e in chunk {
                appender.append(e).unwrap();
            }
            let new = appender.new_hashes().to_vec();
            store.0.extend(new);
        }
        assert_eq!(store.0, whole.0);
    }

    #[test]
    fn every_inclusion_and_consistency_proof_verifies_and_a_flipped_bit_fails() {
        let all = entries(70);
        let store = MemoryHashes::build(&all);
        for size in 1..=70u64 {
            let root = tree_root(size, &store).unwrap();
            for index in 0..size {
                let proof = prove_inclusion(index, size, &store).unwrap();
                let leaf = leaf_hash(&all[index as usize]);
                verify_inclusion(&proof, size, root, index, leaf).unwrap();
                if let Some(first) = proof.first() {
                    let mut bad = proof.clone();
                    bad[0] = Hash({
                        let mut b = first.0;
                        b[0] ^= 1;
                        b
                    });
                    assert!(verify_inclusion(&bad, size, root, index, leaf).is_err());
                }
            }
            for old in 0..=size {
                let old_root = tree_root(old, &store).unwrap();
                let proof = prove_consistency(old, size, &store).unwrap();
                verify_consistency(&proof, old, old_root, size, root).unwrap();
                if old > 0 && old < size {
                    let mut wrong_root = old_root;
                    wrong_root.0[31] ^= 1;
                    assert!(verify_consistency(&proof, old, wrong_root, size, root).is_err());
                }
            }
        }
    }

    #[test]
    fn out_of_range_requests_are_refused() {
        let store = MemoryHashes::build(&entries(5));
        assert!(matches!(
            prove_inclusion(5, 5, &store),
            Err(LedgerError::IndexBeyondTree { .. })
        ));
        assert!(matches!(
            prove_consistency(6, 5, &store),
            Err(LedgerError::SizesOutOfOrder { .. })
        ));
    }
}
