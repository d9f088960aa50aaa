//! The transparency log: entries, the Merkle tree, proofs, signed notes and checkpoints.
//!
//! Everything an auditor checks follows public standards exactly, so that tools we did not
//! write accept it:
//! - the tree and its proofs: RFC 9162 §2.1 (identical to RFC 6962 §2.1), SHA-256 with the
//!   0x00 / 0x01 leaf and node prefixes;
//! - signatures: C2SP `signed-note` with Ed25519 (signature type 0x01);
//! - tree heads: C2SP `tlog-checkpoint`;
//! - the read API's tiles and entry bundles: C2SP `tlog-tiles`;
//! - receipts: C2SP `tlog-proof@v1` beside the entry note.
//!
//! The tree arithmetic (stored-hash indexing, audit paths, consistency proofs) comes from the
//! `tlog_tiles` crate, a port of Go's `sumdb/tlog`; signed notes come from `signed_note`, a port
//! of Go's `sumdb/note`. Receipt verification checks audit paths a second time with `rs_merkle`,
//! so the prover and the verifier are independent implementations that test each other.
//!
//! This module is pure: it owns the [`HashReader`] storage trait and knows nothing of HTTP or
//! SQL.

mod append;
mod audit;
mod checkpoint;
mod entry;
mod keys;
#[cfg(test)]
mod known_answers;
mod receipt;
mod tiles;
mod tree;

pub use append::{sequence_round, LockedLog, LogAppend, PendingEntry, SequencedRound, TreeHead};
pub use audit::{
    bundles_between, AuditError, AuditReport, AuditRun, AuditState, CheckedEntry, EntryChecker,
    Frontier, SignatureChecks, ENTRY_SCHEMA, STATE_FORMAT,
};
pub use checkpoint::{Checkpoint, SignedCheckpoint};
pub use entry::{EntryBody, EntryKind, EntryNote, ENTRY_FORMAT_SUFFIX, MAX_ENTRY_BYTES};
pub use keys::{actor_signature, LogKey, LogVerifier, PendingSignature};
pub use receipt::{verify_receipt, InclusionProof, Receipt, Rfc9162Hasher, VerifiedReceipt};
pub use tiles::{entry_bundle, TileRequest, TILE_HEIGHT, TILE_WIDTH};
pub use tlog_tiles::{Hash, HashReader, EMPTY_HASH as EMPTY_ROOT, HASH_SIZE};
pub use tree::{
    leaf_hash, prove_consistency, prove_inclusion, stored_leaf_hash, tree_root, verify_consistency,
    verify_inclusion, BatchAppender, MemoryHashes,
};

use thiserror::Error;

/// What can go wrong in the log's pure logic. Variants state facts; the HTTP and CLI layers
/// decide what each one means for their users.
#[derive(Debug, Error)]
pub enum LedgerError {
    #[error("the entry is {size} bytes; an entry may be at most {max} bytes")]
    EntryTooLarge { size: usize, max: usize },
    #[error("malformed entry: {0}")]
    MalformedEntry(String),
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(String),
    #[error("malformed proof: {0}")]
    MalformedProof(String),
    #[error("malformed key: {0}")]
    MalformedKey(String),
    #[error("invalid tile path: {0}")]
    InvalidTilePath(String),
    #[error("index {index} is not below tree size {tree_size}")]
    IndexBeyondTree { index: u64, tree_size: u64 },
    #[error("tree size {requested} is beyond the current tree size {current}")]
    SizeBeyondTree { requested: u64, current: u64 },
    #[error("old size {old_size} is larger than new size {new_size}")]
    SizesOutOfOrder { old_size: u64, new_size: u64 },
    #[error("signature check failed: {0}")]
    BadSignature(String),
    #[error("the Merkle proof does not verify")]
    InvalidProof,
    #[error("receipt check {check} failed: {reason}")]
    ReceiptCheckFailed { check: &'static str, reason: String },
    #[error("reading the tree failed: {0}")]
    Storage(String),
}

impl From<tlog_tiles::Error> for LedgerError {
    fn from(err: tlog_tiles::Error) -> Self {
        match err {
            tlog_tiles::Error::InvalidProof => LedgerError::InvalidProof,
            other => LedgerError::Storage(other.to_string()),
        }
    }
}
