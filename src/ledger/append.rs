//! One sequencing round: integrate a batch of signed entries into the stored tree and sign the
//! checkpoint that covers them.
//!
//! The storage is reached only through [`LockedLog`], a view of the log whose head is locked for
//! the duration of one transaction; the caller commits that transaction and only then
//! acknowledges the entries, so nothing is acknowledged before it is durable.

use tlog_tiles::{Hash, HashReader};

use super::{
    prove_inclusion, tree_root, BatchAppender, Checkpoint, EntryKind, LedgerError, LogKey,
    SignedCheckpoint,
};

/// The size and root the log has committed to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TreeHead {
    pub size: u64,
    pub root: Hash,
}

/// An entry that has been signed but not yet given an index.
#[derive(Debug, Clone)]
pub struct PendingEntry {
    pub kind: EntryKind,
    pub bytes: Vec<u8>,
}

/// A new stretch of the log, ready to be written in one transaction.
pub struct LogAppend<'a> {
    pub first_index: u64,
    pub entries: &'a [PendingEntry],
    pub leaf_hashes: &'a [Hash],
    /// Stored hashes, as (stored-hash index, hash).
    pub hashes: &'a [(u64, Hash)],
    pub checkpoint: &'a SignedCheckpoint,
}

/// The log as seen from inside a transaction that holds the lock on its head.
pub trait LockedLog: HashReader {
    fn head(&mut self) -> Result<TreeHead, LedgerError>;
    fn write(&mut self, append: LogAppend<'_>) -> Result<(), LedgerError>;
}

/// What a round produced: the entries' indexes start at `first_index`, in the order given.
#[derive(Debug, Clone)]
pub struct SequencedRound {
    pub first_index: u64,
    pub checkpoint: SignedCheckpoint,
    /// Each entry's audit path in the new checkpoint's tree, in the order given.
    pub audit_paths: Vec<Vec<Hash>>,
}

/// Appends `entries` after the locked head and signs the new checkpoint.
///
/// Before extending the tree it recomputes the head's root from the stored hashes: if storage
/// was damaged or rewritten, the round fails instead of signing a checkpoint inconsistent with
/// the ones already published.
pub fn sequence_round(
    log: &mut impl LockedLog,
    key: &LogKey,
    entries: &[PendingEntry],
) -> Result<SequencedRound, LedgerError> {
    let head = log.head()?;
    let stored_root = tree_root(head.size, &*log)?;
    if stored_root != head.root {
        return Err(LedgerError::Storage(format!(
            "the stored tree of size {} does not hash to the signed root",
            head.size
        )));
    }
    let mut appender = BatchAppender::new(head.size, &*log);
    for entry in entries {
        appender.append(&entry.bytes)?;
    }
    let checkpoint = Checkpoint {
        size: appender.size(),
        root: appender.root()?,
    }
    .sign(key)?;
    let audit_paths = (head.size..appender.size())
        .map(|index| prove_inclusion(index, appender.size(), &appender))
        .collect::<Result<Vec<_>, _>>()?;
    let hashes = appender.new_hashes().to_vec();
    let leaf_hashes = appender.leaf_hashes().to_vec();
    drop(appender);
    log.write(LogAppend {
        first_index: head.size,
        entries,
        leaf_hashes: &leaf_hashes,
        hashes: &hashes,
        checkpoint: &checkpoint,
    })?;
    Ok(SequencedRound {
        first_index: head.size,
        checkpoint,
        audit_paths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{verify_inclusion, MemoryHashes, EMPTY_ROOT};

    struct MemoryLog {
        head: TreeHead,
        hashes: MemoryHashes,
        entries: Vec<Vec<u8>>,
    }

    impl MemoryLog {
        fn empty() -> Self {
            MemoryLog {
                head: TreeHead {
                    size: 0,
                    root: EMPTY_ROOT,
                },
                hashes: MemoryHashes::default(),
                entries: vec![],
            }
        }
    }

    impl HashReader for MemoryLog {
        fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
            self.hashes.read_hashes(indexes)
        }
    }

    impl LockedLog for MemoryLog {
        fn head(&mut self) -> Result<TreeHead, LedgerError> {
            Ok(self.head)
        }
        fn write(&mut self, append: LogAppend<'_>) -> Result<(), LedgerError> {
            self.hashes.0.extend(append.hashes.iter().copied());
            self.entries
                .extend(append.entries.iter().map(|e| e.bytes.clone()));
            self.head = TreeHead {
                size: append.checkpoint.checkpoint.size,
                root: append.checkpoint.checkpoint.root,
            };
            Ok(())
        }
    }

    fn pending(text: &str) -> PendingEntry {
        PendingEntry {
            kind: EntryKind::OperatorNote,
            bytes: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn rounds_extend_the_tree_and_every_entry_is_provable() {
        let key = LogKey::generate("example.org/log").unwrap();
        let mut log = MemoryLog::empty();
        let first = sequence_round(&mut log, &key, &[pending("a"), pending("b")]).unwrap();
        assert_eq!(first.first_index, 0);
        let second = sequence_round(&mut log, &key, &[pending("c")]).unwrap();
        assert_eq!(second.first_index, 2);
        assert_eq!(second.checkpoint.checkpoint.size, 3);
        assert_eq!(second.audit_paths[0], prove_inclusion(2, 3, &log).unwrap());
        for (i, e) in log.entries.iter().enumerate() {
            let proof = prove_inclusion(i as u64, 3, &log).unwrap();
            verify_inclusion(
                &proof,
                3,
                log.head.root,
                i as u64,
                crate::ledger::leaf_hash(e),
            )
            .unwrap();
        }
    }

    #[test]
    fn a_head_that_does_not_match_the_stored_tree_is_never_extended() {
        let key = LogKey::generate("example.org/log").unwrap();
        let mut log = MemoryLog::empty();
        sequence_round(&mut log, &key, &[pending("a"), pending("b")]).unwrap();
        log.head.root.0[0] ^= 1;
        assert!(sequence_round(&mut log, &key, &[pending("c")]).is_err());
    }
}
