//! The auditor's logic: check a log mirrored through its C2SP `tlog-tiles` read API, and keep
//! what must be remembered between audits.
//!
//! An audit run starts from a saved [`AuditState`] (or from the empty tree) and a newly fetched
//! checkpoint, and is fed the log's entry bundles in order. For every entry it checks:
//! - the log's signature, the format line and the canonical body ([`EntryNote::open`]);
//! - the actor's signature too, where the entry's `data.actor_key` names one
//!   (C2SP signed-note: a verifier key `name+keyid+base64(0x01 || key)`);
//! - the body against `contracts/entry.schema.json`, embedded in the binary, so a new entry
//!   kind needs a schema change and no auditor code;
//! - its RFC 9162 leaf hash against the level-0 hash tile the log serves for it.
//!
//! The leaf hashes then extend the saved state's right edge (the "compact range": the roots of
//! the maximal complete subtrees, largest first), with the tree code of [`super::tree`]. The
//! root this gives must equal the new checkpoint's root. Because the right edge came from the
//! saved checkpoint's tree, this also proves the new tree extends the saved one: RFC 9162
//! §2.1.4's consistency, checked by construction, without reading old entries again. A root
//! that does not match therefore means the log forked or was rewritten since the saved
//! checkpoint, and the error says so.
//!
//! This module is pure: it does no I/O. `cli/audit.rs` fetches tiles and calls it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tlog_tiles::{stored_hash_index, Hash, HashReader};

use super::entry::actor_failure;
use super::keys::PendingSignature;
use super::{
    leaf_hash, tree_root, BatchAppender, EntryNote, LedgerError, LogVerifier, MemoryHashes,
    SignedCheckpoint, TileRequest, EMPTY_ROOT, HASH_SIZE, TILE_WIDTH,
};

/// The JSON Schema every entry body must satisfy.
pub const ENTRY_SCHEMA: &str = include_str!("../../contracts/entry.schema.json");

/// Written into every state file, so that a file of some other kind is refused clearly.
pub const STATE_FORMAT: &str = "provenance-audit-state/v1";

/// Why an audit failed. [`AuditError::is_unusable_input`] tells a log that failed a check
/// (the audit's finding) from input the auditor cannot use.
#[derive(Debug, Error)]
pub enum AuditError {
    #[error(
        "the state file is for the log {state_origin} with key {state_key}, \
         not for {origin} with key {key}"
    )]
    StateFromAnotherLog {
        state_origin: String,
        state_key: String,
        origin: String,
        key: String,
    },
    #[error("the state file is unusable: {0}")]
    UnusableState(String),
    #[error("the entry schema is unusable: {0}")]
    UnusableSchema(String),
    #[error("check checkpoint_signature failed: {0}")]
    Checkpoint(LedgerError),
    #[error("check {check} failed for entry {index}: {reason}")]
    Entry {
        index: u64,
        check: &'static str,
        reason: String,
    },
    #[error("check bundle_format failed for {path}: {reason}")]
    Bundle { path: String, reason: String },
    #[error(
        "LOG FORKED OR REWRITTEN: the log's checkpoint at size {new_size} (root {new_root}) is \
         not consistent with the saved checkpoint at size {old_size} (root {old_root}): {detail}. \
         Keep both checkpoints: together they are evidence that the log showed two histories."
    )]
    Fork {
        old_size: u64,
        old_root: String,
        new_size: u64,
        new_root: String,
        detail: String,
    },
    #[error(
        "check tree_root failed: the {size} entries served give the root {computed}, \
         but the checkpoint at size {size} says {expected}"
    )]
    RootMismatch {
        size: u64,
        computed: String,
        expected: String,
    },
    #[error("the audit was fed entries out of order: expected entry {expected}, got {got}")]
    OutOfOrder { expected: u64, got: u64 },
    #[error("the tree arithmetic failed: {0}")]
    Tree(#[from] LedgerError),
}

impl AuditError {
    /// True when the input (state file, schema) is unusable, as opposed to a check failing.
    pub fn is_unusable_input(&self) -> bool {
        matches!(
            self,
            AuditError::StateFromAnotherLog { .. }
                | AuditError::UnusableState(_)
                | AuditError::UnusableSchema(_)
        )
    }
}

fn b64(hash: &Hash) -> String {
    use base64::prelude::{Engine, BASE64_STANDARD};
    BASE64_STANDARD.encode(hash.0)
}

mod b64_hash {
    use base64::prelude::{Engine, BASE64_STANDARD};
    use serde::{de::Error, Deserialize, Deserializer, Serializer};
    use tlog_tiles::Hash;

    pub fn serialize<S: Serializer>(hash: &Hash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&BASE64_STANDARD.encode(hash.0))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        let text = String::deserialize(d)?;
        super::b64_hashes::parse(&text).map_err(D::Error::custom)
    }
}

mod b64_hashes {
    use base64::prelude::{Engine, BASE64_STANDARD};
    use serde::{de::Error, Deserialize, Deserializer, Serializer};
    use tlog_tiles::Hash;

    pub fn serialize<S: Serializer>(hashes: &[Hash], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(hashes.iter().map(|h| BASE64_STANDARD.encode(h.0)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hash>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|text| parse(text).map_err(D::Error::custom))
            .collect()
    }

    pub fn parse(text: &str) -> Result<Hash, String> {
        BASE64_STANDARD
            .decode(text)
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .map(Hash)
            .ok_or_else(|| format!("{text:?} is not a base64 hash"))
    }
}

/// The right edge of a tree: the roots of its maximal complete subtrees, largest (leftmost)
/// first, one per set bit of the size. It is all an auditor needs to append leaves and
/// recompute the root, so a resumed audit never reads old entries again.
#[derive(Debug, Clone, PartialEq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

impl Frontier {
    pub fn empty() -> Self {
        Frontier {
            size: 0,
            hashes: Vec::new(),
        }
    }

    /// A right edge as saved; the number of hashes must fit the size.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Result<Self, AuditError> {
        if hashes.len() != size.count_ones() as usize {
            return Err(AuditError::UnusableState(format!(
                "a tree of {size} entries has {} subtrees on its right edge, the state has {}",
                size.count_ones(),
                hashes.len()
            )));
        }
        Ok(Frontier { size, hashes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The (height, index at that height) of each maximal complete subtree, left to right.
    fn subtrees(size: u64) -> impl Iterator<Item = (u8, u64)> {
        let mut start = 0u64;
        (0..64u8).rev().filter_map(move |height| {
            if size >> height & 1 == 1 {
                let subtree = (height, start >> height);
                start += 1 << height;
                Some(subtree)
            } else {
                None
            }
        })
    }

    /// The right edge as the tree module's stored hashes: each subtree root under its
    /// `sumdb/tlog` stored-hash index.
    fn as_stored_hashes(&self) -> MemoryHashes {
        let mut store = MemoryHashes::default();
        for ((height, index), hash) in Self::subtrees(self.size).zip(&self.hashes) {
            store.0.insert(stored_hash_index(height, index), *hash);
        }
        store
    }

    /// Appends leaves by their leaf hashes.
    pub fn append(&mut self, leaves: &[Hash]) -> Result<(), LedgerError> {
        if leaves.is_empty() {
            return Ok(());
        }
        let store = self.as_stored_hashes();
        let mut appender = BatchAppender::new(self.size, &store);
        for leaf in leaves {
            appender.append_leaf(*leaf)?;
        }
        let size = appender.size();
        let indexes: Vec<u64> = Self::subtrees(size)
            .map(|(height, index)| stored_hash_index(height, index))
            .collect();
        self.hashes = appender.read_hashes(&indexes)?;
        self.size = size;
        Ok(())
    }

    /// The RFC 9162 root of the tree.
    pub fn root(&self) -> Result<Hash, LedgerError> {
        if self.size == 0 {
            return Ok(EMPTY_ROOT);
        }
        tree_root(self.size, &self.as_stored_hashes())
    }
}

/// What an auditor keeps between runs, saved as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditState {
    /// Always [`STATE_FORMAT`].
    pub format: String,
    pub origin: String,
    /// The verifier key the log was audited with.
    pub verifier_key: String,
    pub tree_size: u64,
    #[serde(with = "b64_hash")]
    pub root_hash: Hash,
    /// The checkpoint note audited last, verbatim: with the log's signature, it is evidence.
    /// Empty before the first audit.
    pub checkpoint: String,
    /// The tree's right edge ([`Frontier`]), largest subtree first, base64.
    #[serde(with = "b64_hashes")]
    pub frontier: Vec<Hash>,
    /// Entries by kind, over every entry audited so far.
    pub totals: BTreeMap<String, u64>,
}

impl AuditState {
    /// The state before the first audit of a log: the empty tree.
    pub fn empty(verifier: &LogVerifier) -> Self {
        AuditState {
            format: STATE_FORMAT.to_owned(),
            origin: verifier.name().to_owned(),
            verifier_key: verifier.as_text().to_owned(),
            tree_size: 0,
            root_hash: EMPTY_ROOT,
            checkpoint: String::new(),
            frontier: Vec::new(),
            totals: BTreeMap::new(),
        }
    }

    /// Reads a saved state, refusing one made for another log, and checks that it agrees with
    /// itself: the right edge gives the saved root, and the saved checkpoint is signed by the
    /// key and names that size and root.
    pub fn from_json(text: &str, verifier: &LogVerifier) -> Result<Self, AuditError> {
        let state: AuditState =
            serde_json::from_str(text).map_err(|e| AuditError::UnusableState(e.to_string()))?;
        if state.format != STATE_FORMAT {
            return Err(AuditError::UnusableState(format!(
                "format {:?}, expected {STATE_FORMAT:?}",
                state.format
            )));
        }
        if state.origin != verifier.name() || state.verifier_key != verifier.as_text() {
            return Err(AuditError::StateFromAnotherLog {
                state_origin: state.origin,
                state_key: state.verifier_key,
                origin: verifier.name().to_owned(),
                key: verifier.as_text().to_owned(),
            });
        }
        let root = state.root_hash;
        let frontier = state.frontier()?;
        if frontier.root()? != root {
            return Err(AuditError::UnusableState(
                "its right edge does not give its root".into(),
            ));
        }
        if state.tree_size > 0 || !state.checkpoint.is_empty() {
            let checkpoint = SignedCheckpoint::open(&state.checkpoint, verifier)
                .map_err(|e| AuditError::UnusableState(format!("its checkpoint: {e}")))?;
            if checkpoint.checkpoint.size != state.tree_size || checkpoint.checkpoint.root != root {
                return Err(AuditError::UnusableState(
                    "its checkpoint names another size or root than the state".into(),
                ));
            }
        }
        Ok(state)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the state serialises") + "\n"
    }

    pub fn frontier(&self) -> Result<Frontier, AuditError> {
        Frontier::from_parts(self.tree_size, self.frontier.clone())
    }
}

/// One entry, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedEntry {
    pub index: u64,
    pub leaf: Hash,
    pub kind: String,
}

/// How an audit checks Ed25519 signatures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SignatureChecks {
    /// All of a bundle's signatures in one `verify_batch`, about twice as fast as one by one;
    /// only when a batch fails are its signatures checked one by one, to name the entry. A
    /// batch is a different equation from a single check: a signature whose `R` carries a
    /// small-order component or a non-canonical encoding can pass a batch where a single
    /// check (and Go's verifier) refuses it. Only the key's holder can make such a signature,
    /// and no standard signer does, so for an audit that is a matter of agreeing with other
    /// verifiers, not of forgery; `OneByOne` is there for whoever needs that agreement.
    #[default]
    Batched,
    /// Each signature alone, the equation `LogVerifier::open` and Go's verifier use.
    OneByOne,
}

/// Checks entries and bundles. Shared by reference between threads: it holds no state of a run.
///
/// The schema is `contracts/entry.schema.json` itself, through the `jsonschema` crate (default
/// features off: no network or file resolution), rather than typed structs: a new entry kind
/// then needs a schema change and no auditor code. Measured with `bench/audit.sh` at 10^6
/// entries, the whole audit ran at 1.03 times the speed of the Ed25519 checks alone (one by
/// one), so the schema, the JSON work and the hashing together cost a few percent at most.
pub struct EntryChecker {
    verifier: LogVerifier,
    schema: jsonschema::Validator,
    signatures: SignatureChecks,
}

/// An entry that passed every check but its signatures, which are still to be checked.
struct InspectedEntry {
    checked: CheckedEntry,
    log_signature: PendingSignature,
    actor_signature: Option<PendingSignature>,
}

impl InspectedEntry {
    /// Checks the signatures one by one, naming the one that fails.
    fn check_signatures(self) -> Result<CheckedEntry, AuditError> {
        let index = self.checked.index;
        self.log_signature
            .check()
            .map_err(|e| entry_failure(index, "entry_signature", e.to_string()))?;
        if let Some(actor) = &self.actor_signature {
            actor.check().map_err(|e| {
                entry_failure(
                    index,
                    "actor_signature",
                    actor_failure(&actor.signer, e).to_string(),
                )
            })?;
        }
        Ok(self.checked)
    }

    fn signatures(&self) -> impl Iterator<Item = &PendingSignature> {
        std::iter::once(&self.log_signature).chain(&self.actor_signature)
    }
}

fn entry_failure(index: u64, check: &'static str, reason: String) -> AuditError {
    AuditError::Entry {
        index,
        check,
        reason,
    }
}

impl EntryChecker {
    pub fn new(verifier: LogVerifier) -> Result<Self, AuditError> {
        Self::with_schema(verifier, ENTRY_SCHEMA)
    }

    /// With another schema than the built-in one (tests; a schema newer than the binary).
    pub fn with_schema(verifier: LogVerifier, schema: &str) -> Result<Self, AuditError> {
        let schema: serde_json::Value =
            serde_json::from_str(schema).map_err(|e| AuditError::UnusableSchema(e.to_string()))?;
        let schema = jsonschema::validator_for(&schema)
            .map_err(|e| AuditError::UnusableSchema(e.to_string()))?;
        Ok(EntryChecker {
            verifier,
            schema,
            signatures: SignatureChecks::default(),
        })
    }

    pub fn with_signature_checks(mut self, signatures: SignatureChecks) -> Self {
        self.signatures = signatures;
        self
    }

    /// Every check of one entry that needs nothing but the entry.
    pub fn check_entry(&self, index: u64, bytes: &[u8]) -> Result<CheckedEntry, AuditError> {
        self.inspect_entry(index, bytes)?.check_signatures()
    }

    /// Every check of [`EntryChecker::check_entry`] but the signature arithmetic.
    fn inspect_entry(&self, index: u64, bytes: &[u8]) -> Result<InspectedEntry, AuditError> {
        let failed = |check, reason| entry_failure(index, check, reason);
        let (entry, log_signature) =
            EntryNote::open_pending(bytes, &self.verifier).map_err(|e| match e {
                LedgerError::MalformedEntry(_) => failed("entry_format", e.to_string()),
                other => failed("entry_signature", other.to_string()),
            })?;
        let body =
            serde_json::to_value(&entry.body).map_err(|e| failed("entry_format", e.to_string()))?;
        if !self.schema.is_valid(&body) {
            let reason = match self.schema.validate(&body) {
                Err(e) => format!("at {:?}: {e}", e.instance_path().to_string()),
                Ok(()) => "the schema rejects it".into(),
            };
            return Err(failed("entry_schema", reason));
        }
        let actor_signature = entry
            .actor_signature_pending()
            .map_err(|e| failed("actor_signature", e.to_string()))?
            .map(|(_, signature)| signature);
        Ok(InspectedEntry {
            checked: CheckedEntry {
                index,
                leaf: leaf_hash(bytes),
                kind: entry.body.kind.as_str().to_owned(),
            },
            log_signature,
            actor_signature,
        })
    }

    /// Checks the signatures of entries that passed every other check, in order, as
    /// [`SignatureChecks`] says.
    fn check_signatures(
        &self,
        inspected: Vec<InspectedEntry>,
    ) -> Result<Vec<CheckedEntry>, AuditError> {
        if self.signatures == SignatureChecks::Batched {
            let pending: Vec<&PendingSignature> = inspected
                .iter()
                .flat_map(InspectedEntry::signatures)
                .collect();
            if PendingSignature::check_batch(&pending).is_ok() {
                return Ok(inspected.into_iter().map(|e| e.checked).collect());
            }
        }
        inspected
            .into_iter()
            .map(InspectedEntry::check_signatures)
            .collect()
    }

    /// Checks an entry bundle and the level-0 hash tile with the same coordinates: the bundle
    /// holds exactly the tile's entries, each entry passes [`EntryChecker::check_entry`], and
    /// its leaf hash is the one in the hash tile. Entries below `from` were audited before and
    /// are skipped.
    pub fn check_bundle(
        &self,
        bundle: TileRequest,
        entries: &[u8],
        hashes: &[u8],
        from: u64,
    ) -> Result<Vec<CheckedEntry>, AuditError> {
        let range = bundle.entry_range().ok_or_else(|| AuditError::Bundle {
            path: bundle.path(),
            reason: "not an entry bundle".into(),
        })?;
        let bad = |reason: String| AuditError::Bundle {
            path: bundle.path(),
            reason,
        };
        let width = bundle.width() as usize;
        if hashes.len() != width * HASH_SIZE {
            return Err(bad(format!(
                "its level-0 hash tile is {} bytes, expected {}",
                hashes.len(),
                width * HASH_SIZE
            )));
        }
        let mut inspected = Vec::with_capacity(width);
        let mut rest = entries;
        for (offset, index) in range.enumerate() {
            let [hi, lo, tail @ ..] = rest else {
                return Err(bad(format!(
                    "it ends before entry {index} (holds {offset} of {width})"
                )));
            };
            let len = usize::from(u16::from_be_bytes([*hi, *lo]));
            if tail.len() < len {
                return Err(bad(format!("entry {index} is cut short")));
            }
            let (entry, after) = tail.split_at(len);
            rest = after;
            if index < from {
                continue;
            }
            let tile_hash = &hashes[offset * HASH_SIZE..(offset + 1) * HASH_SIZE];
            let leaf = leaf_hash(entry);
            if leaf.0 != tile_hash {
                return Err(AuditError::Entry {
                    index,
                    check: "leaf_hash",
                    reason: format!(
                        "the entry served hashes to {}, but the log's tree holds {} at this \
                         index: the stored entry was changed after it was logged",
                        b64(&leaf),
                        b64(&Hash(tile_hash.try_into().expect("32 bytes")))
                    ),
                });
            }
            inspected.push(self.inspect_entry(index, entry)?);
        }
        if !rest.is_empty() {
            return Err(bad(format!(
                "{} bytes follow its {width} entries",
                rest.len()
            )));
        }
        self.check_signatures(inspected)
    }
}

/// The entry bundles (with their level-0 hash tiles, which share the coordinates) that hold
/// entries `from..to` of a tree of `to` entries, in order.
pub fn bundles_between(from: u64, to: u64) -> Vec<(TileRequest, TileRequest)> {
    if from >= to {
        return Vec::new();
    }
    (from / TILE_WIDTH..=(to - 1) / TILE_WIDTH)
        .map(|index| {
            let width = (to - index * TILE_WIDTH).min(TILE_WIDTH) as u32;
            (
                TileRequest::Entries { index, width },
                TileRequest::Hashes {
                    level: 0,
                    index,
                    width,
                },
            )
        })
        .collect()
}

/// What a finished audit found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditReport {
    pub origin: String,
    /// The size audited before this run (0 on a first audit).
    pub previous_size: u64,
    /// Entries read and checked in this run.
    pub entries_checked: u64,
    pub tree_size: u64,
    pub root_hash: String,
    /// By kind, over every entry ever audited.
    pub totals: BTreeMap<String, u64>,
}

/// One audit, from a saved state to a new checkpoint. Feed it every entry from
/// [`AuditRun::next_index`] up to the checkpoint's size, in order, then [`AuditRun::finish`].
pub struct AuditRun {
    saved: AuditState,
    saved_root: Hash,
    target: SignedCheckpoint,
    frontier: Frontier,
    totals: BTreeMap<String, u64>,
    checked: u64,
    /// Set once a full re-read has passed the saved size with the saved root.
    saved_prefix_confirmed: bool,
}

impl AuditRun {
    /// Opens the new checkpoint with the key and starts from the saved state's right edge, or
    /// from the empty tree when `full` (the saved root is then checked on the way past it).
    pub fn start(
        saved: AuditState,
        checkpoint_note: &str,
        verifier: &LogVerifier,
        full: bool,
    ) -> Result<Self, AuditError> {
        let target =
            SignedCheckpoint::open(checkpoint_note, verifier).map_err(AuditError::Checkpoint)?;
        let saved_root = saved.root_hash;
        let new = target.checkpoint;
        if new.size < saved.tree_size {
            return Err(AuditError::Fork {
                old_size: saved.tree_size,
                old_root: b64(&saved_root),
                new_size: new.size,
                new_root: b64(&new.root),
                detail: "the log is smaller than it was".into(),
            });
        }
        if new.size == saved.tree_size && new.root != saved_root {
            return Err(AuditError::Fork {
                old_size: saved.tree_size,
                old_root: b64(&saved_root),
                new_size: new.size,
                new_root: b64(&new.root),
                detail: "two different roots for one size".into(),
            });
        }
        let (frontier, totals) = if full {
            (Frontier::empty(), BTreeMap::new())
        } else {
            (saved.frontier()?, saved.totals.clone())
        };
        let saved_prefix_confirmed = !full || saved.tree_size == 0;
        Ok(AuditRun {
            saved,
            saved_root,
            target,
            frontier,
            totals,
            checked: 0,
            saved_prefix_confirmed,
        })
    }

    /// The index of the next entry to feed.
    pub fn next_index(&self) -> u64 {
        self.frontier.size()
    }

    /// The size of the checkpoint being audited.
    pub fn target_size(&self) -> u64 {
        self.target.checkpoint.size
    }

    /// Appends checked entries, which must continue where the last ones ended.
    pub fn feed(&mut self, entries: &[CheckedEntry]) -> Result<(), AuditError> {
        let mut rest = entries;
        while !rest.is_empty() {
            let next = self.next_index();
            if rest[0].index != next {
                return Err(AuditError::OutOfOrder {
                    expected: next,
                    got: rest[0].index,
                });
            }
            // On a full re-read, stop at the saved size to compare roots there.
            let take = if !self.saved_prefix_confirmed && next < self.saved.tree_size {
                rest.len().min((self.saved.tree_size - next) as usize)
            } else {
                rest.len()
            };
            let (now, later) = rest.split_at(take);
            if let Some(last) = now.last() {
                if last.index != next + now.len() as u64 - 1 {
                    return Err(AuditError::OutOfOrder {
                        expected: next + now.len() as u64 - 1,
                        got: last.index,
                    });
                }
            }
            if next + now.len() as u64 > self.target_size() {
                return Err(AuditError::OutOfOrder {
                    expected: self.target_size(),
                    got: next + now.len() as u64 - 1,
                });
            }
            let leaves: Vec<Hash> = now.iter().map(|e| e.leaf).collect();
            self.frontier.append(&leaves)?;
            for entry in now {
                *self.totals.entry(entry.kind.clone()).or_default() += 1;
            }
            self.checked += now.len() as u64;
            if !self.saved_prefix_confirmed && self.frontier.size() == self.saved.tree_size {
                let root = self.frontier.root()?;
                if root != self.saved_root {
                    return Err(AuditError::Fork {
                        old_size: self.saved.tree_size,
                        old_root: b64(&self.saved_root),
                        new_size: self.target_size(),
                        new_root: b64(&self.target.checkpoint.root),
                        detail: format!(
                            "the log's first {} entries now give the root {}",
                            self.saved.tree_size,
                            b64(&root)
                        ),
                    });
                }
                self.saved_prefix_confirmed = true;
            }
            rest = later;
        }
        Ok(())
    }

    /// Checks the recomputed root against the checkpoint and answers the new state to save.
    pub fn finish(self) -> Result<(AuditState, AuditReport), AuditError> {
        let target = self.target.checkpoint;
        if self.frontier.size() != target.size {
            return Err(AuditError::OutOfOrder {
                expected: target.size,
                got: self.frontier.size(),
            });
        }
        let root = self.frontier.root()?;
        if root != target.root {
            let resumed = self.saved.tree_size > 0 && self.checked < target.size;
            return Err(if resumed {
                AuditError::Fork {
                    old_size: self.saved.tree_size,
                    old_root: b64(&self.saved_root),
                    new_size: target.size,
                    new_root: b64(&target.root),
                    detail: format!(
                        "the saved tree's right edge extended with the {} new entries served \
                         gives the root {}",
                        self.checked,
                        b64(&root)
                    ),
                }
            } else {
                AuditError::RootMismatch {
                    size: target.size,
                    computed: b64(&root),
                    expected: b64(&target.root),
                }
            });
        }
        let state = AuditState {
            format: STATE_FORMAT.to_owned(),
            origin: self.saved.origin.clone(),
            verifier_key: self.saved.verifier_key.clone(),
            tree_size: target.size,
            root_hash: root,
            checkpoint: self.target.note.clone(),
            frontier: self.frontier.hashes().to_vec(),
            totals: self.totals.clone(),
        };
        let report = AuditReport {
            origin: self.saved.origin,
            previous_size: self.saved.tree_size,
            entries_checked: self.checked,
            tree_size: target.size,
            root_hash: b64(&root),
            totals: self.totals,
        };
        Ok((state, report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{entry_bundle, Checkpoint, EntryBody, EntryKind, LogKey, MemoryHashes};
    use serde_json::json;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("entry {i}").as_bytes()))
            .collect()
    }

    #[test]
    fn resuming_at_every_split_point_gives_the_same_root_as_one_run() {
        for n in 0..=70u64 {
            let all = leaves(n);
            let entries: Vec<Vec<u8>> = (0..n).map(|i| format!("entry {i}").into_bytes()).collect();
            let expected = tree_root(n, &MemoryHashes::build(&entries)).unwrap();
            let mut whole = Frontier::empty();
            whole.append(&all).unwrap();
            assert_eq!(whole.root().unwrap(), expected, "size {n}");
            assert_eq!(whole.hashes().len(), n.count_ones() as usize);
            for split in 1..=n {
                let mut first = Frontier::empty();
                first.append(&all[..split as usize]).unwrap();
                // Saved and read back, as a resumed audit would.
                let mut resumed =
                    Frontier::from_parts(first.size(), first.hashes().to_vec()).unwrap();
                resumed.append(&all[split as usize..]).unwrap();
                assert_eq!(resumed, whole, "size {n} split at {split}");
                assert_eq!(
                    resumed.root().unwrap(),
                    expected,
                    "size {n} split at {split}"
                );
            }
        }
    }

    #[test]
    fn a_right_edge_of_the_wrong_length_is_refused() {
        assert!(Frontier::from_parts(3, vec![EMPTY_ROOT]).is_err());
        assert!(Frontier::from_parts(4, vec![EMPTY_ROOT]).is_ok());
    }

    #[test]
    fn the_empty_tree_has_the_empty_root() {
        assert_eq!(Frontier::empty().root().unwrap(), EMPTY_ROOT);
    }

    #[test]
    fn bundles_cover_exactly_the_entries_asked_for() {
        let paths = |from, to| -> Vec<String> {
            bundles_between(from, to)
                .iter()
                .map(|(e, h)| format!("{} {}", e.path(), h.path()))
                .collect()
        };
        assert!(paths(5, 5).is_empty());
        assert_eq!(paths(0, 3), ["tile/entries/000.p/3 tile/0/000.p/3"]);
        assert_eq!(
            paths(300, 600),
            [
                "tile/entries/001 tile/0/001",
                "tile/entries/002.p/88 tile/0/002.p/88"
            ]
        );
        assert_eq!(paths(256, 512), ["tile/entries/001 tile/0/001"]);
    }

    struct Log {
        key: LogKey,
        entries: Vec<Vec<u8>>,
    }

    impl Log {
        fn new(n: usize) -> Self {
            let key = LogKey::generate("example.org/log").unwrap();
            let mut log = Log {
                key,
                entries: Vec::new(),
            };
            log.grow(n);
            log
        }

        fn grow(&mut self, n: usize) {
            for _ in 0..n {
                let i = self.entries.len();
                let body = EntryBody {
                    kind: EntryKind::OperatorNote,
                    issued_at: "2026-11-26T17:00:00Z".into(),
                    data: json!({"operator": "ops", "text": format!("note {i}")}),
                };
                self.entries
                    .push(EntryNote::sign(&self.key, body, &[]).unwrap().bytes);
            }
        }

        fn checkpoint(&self) -> String {
            let root = tree_root(
                self.entries.len() as u64,
                &MemoryHashes::build(&self.entries),
            )
            .unwrap();
            Checkpoint {
                size: self.entries.len() as u64,
                root,
            }
            .sign(&self.key)
            .unwrap()
            .note
        }

        fn audit(&self, saved: AuditState, full: bool) -> Result<AuditState, AuditError> {
            let checker = EntryChecker::new(self.key.verifier()).unwrap();
            let mut run = AuditRun::start(saved, &self.checkpoint(), &self.key.verifier(), full)?;
            let size = self.entries.len() as u64;
            for (bundle, _) in bundles_between(run.next_index(), size) {
                let range = bundle.entry_range().unwrap();
                let entries = &self.entries[range.start as usize..range.end as usize];
                let hashes: Vec<u8> = entries.iter().flat_map(|e| leaf_hash(e).0).collect();
                let checked = checker.check_bundle(
                    bundle,
                    &entry_bundle(entries),
                    &hashes,
                    run.next_index(),
                )?;
                run.feed(&checked)?;
            }
            Ok(run.finish()?.0)
        }
    }

    #[test]
    fn a_resumed_audit_reads_only_new_entries_and_keeps_totals() {
        let mut log = Log::new(300);
        let verifier = log.key.verifier();
        let first = log.audit(AuditState::empty(&verifier), false).unwrap();
        assert_eq!(first.tree_size, 300);
        let saved = AuditState::from_json(&first.to_json(), &verifier).unwrap();
        log.grow(220);
        let checker = EntryChecker::new(verifier.clone()).unwrap();
        let run = AuditRun::start(saved.clone(), &log.checkpoint(), &verifier, false).unwrap();
        assert_eq!(run.next_index(), 300);
        drop((run, checker));
        let second = log.audit(saved.clone(), false).unwrap();
        assert_eq!(second.tree_size, 520);
        assert_eq!(second.totals["operator_note"], 520);
        let full = log.audit(saved, true).unwrap();
        assert_eq!(full, second);
    }

    #[test]
    fn a_rewritten_log_is_reported_as_a_fork() {
        let log = Log::new(40);
        let verifier = log.key.verifier();
        let saved = log.audit(AuditState::empty(&verifier), false).unwrap();
        // Same key, other history: a longer log whose first entries differ.
        let mut other = Log {
            key: log.key.clone(),
            entries: log.entries.clone(),
        };
        other.entries[7] = other.entries[8].clone();
        other.grow(10);
        for full in [false, true] {
            let err = other.audit(saved.clone(), full).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, AuditError::Fork { .. }), "{text}");
            assert!(
                text.contains("size 40") && text.contains("size 50"),
                "{text}"
            );
        }
        // And a shorter one.
        let mut shorter = Log {
            key: log.key.clone(),
            entries: log.entries.clone(),
        };
        shorter.entries.truncate(30);
        assert!(matches!(
            shorter.audit(saved, false),
            Err(AuditError::Fork { .. })
        ));
    }

    #[test]
    fn a_changed_entry_is_named_by_its_index() {
        let mut log = Log::new(20);
        let verifier = log.key.verifier();
        let saved = AuditState::empty(&verifier);
        log.entries[13][60] ^= 1;
        let checker = EntryChecker::new(verifier.clone()).unwrap();
        let entries = &log.entries;
        // Tiles that hold the original hashes, as the log's stored tree does.
        let mut hashes: Vec<u8> = entries.iter().flat_map(|e| leaf_hash(e).0).collect();
        let original_13 = {
            let mut e = entries[13].clone();
            e[60] ^= 1;
            leaf_hash(&e)
        };
        hashes[13 * 32..14 * 32].copy_from_slice(&original_13.0);
        let (bundle, _) = bundles_between(0, 20)[0];
        let err = checker
            .check_bundle(bundle, &entry_bundle(entries), &hashes, 0)
            .unwrap_err();
        assert!(
            matches!(
                err,
                AuditError::Entry {
                    index: 13,
                    check: "leaf_hash",
                    ..
                }
            ),
            "{err}"
        );
        // If the tile agrees with the changed entry, the signature catches it.
        let hashes: Vec<u8> = entries.iter().flat_map(|e| leaf_hash(e).0).collect();
        let err = checker
            .check_bundle(bundle, &entry_bundle(entries), &hashes, 0)
            .unwrap_err();
        assert!(matches!(err, AuditError::Entry { index: 13, .. }), "{err}");
        assert!(err.to_string().contains("entry 13"), "{err}");
        drop(saved);
    }

    /// The error checking `entries` as the first bundle of a log gives, with tiles that agree
    /// with the entries (so only the entries' own checks can fail).
    fn bundle_error(checker: &EntryChecker, entries: &[Vec<u8>]) -> AuditError {
        let hashes: Vec<u8> = entries.iter().flat_map(|e| leaf_hash(e).0).collect();
        let (bundle, _) = bundles_between(0, entries.len() as u64)[0];
        checker
            .check_bundle(bundle, &entry_bundle(entries), &hashes, 0)
            .unwrap_err()
    }

    #[test]
    fn a_wrong_signature_in_a_bundle_is_named_by_its_index_in_either_mode() {
        let log = Log::new(30);
        let mut entries = log.entries.clone();
        // Entry 17 carries entry 16's signature line: well formed and by the log's key, but
        // over another text, so only the signature arithmetic can catch it.
        let signature_line = |entry: &[u8]| {
            let text = std::str::from_utf8(entry).unwrap();
            text[text.rfind("\n\u{2014} ").unwrap()..].to_owned()
        };
        let forged = std::str::from_utf8(&entries[17])
            .unwrap()
            .replace(&signature_line(&entries[17]), &signature_line(&entries[16]));
        assert_ne!(forged.as_bytes(), entries[17]);
        entries[17] = forged.into_bytes();
        let hashes: Vec<u8> = entries.iter().flat_map(|e| leaf_hash(e).0).collect();
        let (bundle, _) = bundles_between(0, 30)[0];
        for mode in [SignatureChecks::Batched, SignatureChecks::OneByOne] {
            let checker = EntryChecker::new(log.key.verifier())
                .unwrap()
                .with_signature_checks(mode);
            let err = bundle_error(&checker, &entries);
            assert!(
                matches!(
                    err,
                    AuditError::Entry {
                        index: 17,
                        check: "entry_signature",
                        ..
                    }
                ),
                "{mode:?}: {err}"
            );
            // Skipping past the forged entry (a resumed audit) finds nothing wrong.
            let checked = checker
                .check_bundle(bundle, &entry_bundle(&entries), &hashes, 18)
                .unwrap();
            assert_eq!(checked.first().map(|e| e.index), Some(18), "{mode:?}");
            assert_eq!(checked.len(), 12, "{mode:?}");
        }
    }

    #[test]
    fn entries_that_break_the_schema_or_lack_the_actor_signature_fail() {
        let key = LogKey::generate("example.org/log").unwrap();
        let checker = EntryChecker::new(key.verifier()).unwrap();
        let sign = |data: serde_json::Value, extra: &[signed_note::Signature]| {
            let body = EntryBody {
                kind: EntryKind::OperatorNote,
                issued_at: "2026-11-26T17:00:00Z".into(),
                data,
            };
            EntryNote::sign(&key, body, extra).unwrap().bytes
        };
        let ok = sign(json!({"operator": "ops", "text": "hi"}), &[]);
        assert_eq!(checker.check_entry(4, &ok).unwrap().kind, "operator_note");
        let extra_field = sign(json!({"operator": "ops", "text": "hi", "x": 1}), &[]);
        let err = checker.check_entry(5, &extra_field).unwrap_err();
        assert!(
            matches!(
                err,
                AuditError::Entry {
                    index: 5,
                    check: "entry_schema",
                    ..
                }
            ),
            "{err}"
        );

        // An actor key named in the data requires the actor's signature on the note.
        let actor = LogKey::generate("publisher.example").unwrap();
        let data =
            json!({"operator": "ops", "text": "hi", "actor_key": actor.verifier().as_text()});
        let schema = ENTRY_SCHEMA.replace(
            "\"description\": \"Free text.\",",
            "\"description\": \"Free text.\"}, \"actor_key\": {\"type\": \"string\",",
        );
        let checker = EntryChecker::with_schema(key.verifier(), &schema).unwrap();
        let unsigned = sign(data.clone(), &[]);
        let err = checker.check_entry(6, &unsigned).unwrap_err();
        assert!(
            matches!(
                err,
                AuditError::Entry {
                    index: 6,
                    check: "actor_signature",
                    ..
                }
            ),
            "{err}"
        );
        let text = EntryNote::text(
            key.name(),
            &EntryBody {
                kind: EntryKind::OperatorNote,
                issued_at: "2026-11-26T17:00:00Z".into(),
                data: data.clone(),
            },
        )
        .unwrap();
        let by_actor = String::from_utf8(actor.sign_note(text.as_bytes(), &[]).unwrap()).unwrap();
        let line = by_actor.lines().last().unwrap();
        let actor_sig = [signed_note::Signature::from_bytes(line.as_bytes()).unwrap()];
        let signed = sign(data.clone(), &actor_sig);
        checker.check_entry(7, &signed).unwrap();

        // In a bundle, batched or not, an actor's signature over other text is named as the
        // actor's, at its index.
        let other_text = text.replace("\"hi\"", "\"bye\"");
        let by_actor = actor.sign_note(other_text.as_bytes(), &[]).unwrap();
        let line = String::from_utf8(by_actor)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .to_owned();
        let wrong_sig = [signed_note::Signature::from_bytes(line.as_bytes()).unwrap()];
        let entries = vec![signed.clone(), sign(data, &wrong_sig), signed];
        for mode in [SignatureChecks::Batched, SignatureChecks::OneByOne] {
            let checker = EntryChecker::with_schema(key.verifier(), &schema)
                .unwrap()
                .with_signature_checks(mode);
            let err = bundle_error(&checker, &entries);
            assert!(
                matches!(
                    err,
                    AuditError::Entry {
                        index: 1,
                        check: "actor_signature",
                        ..
                    }
                ),
                "{mode:?}: {err}"
            );
            assert!(err.to_string().contains("publisher.example"), "{err}");
        }
    }

    #[test]
    fn an_entry_of_an_unknown_kind_fails_naming_its_index() {
        let key = LogKey::generate("example.org/log").unwrap();
        let checker = EntryChecker::new(key.verifier()).unwrap();
        let text = "example.org/log/entry/v1\n\
                    {\"data\":{},\"issued_at\":\"2026-11-26T17:00:00Z\",\"kind\":\"mystery\"}\n";
        let entry = key.sign_note(text.as_bytes(), &[]).unwrap();
        let err = checker.check_entry(9, &entry).unwrap_err();
        assert!(matches!(err, AuditError::Entry { index: 9, .. }), "{err}");
        assert!(err.to_string().contains("mystery"), "{err}");
    }

    #[test]
    fn a_state_from_another_log_is_refused() {
        let ours = LogKey::generate("example.org/log").unwrap();
        let theirs = LogKey::generate("example.org/log").unwrap();
        let state = AuditState::empty(&theirs.verifier());
        let err = AuditState::from_json(&state.to_json(), &ours.verifier()).unwrap_err();
        assert!(
            matches!(err, AuditError::StateFromAnotherLog { .. }),
            "{err}"
        );
        assert!(err.is_unusable_input());
        let err = AuditState::from_json("{}", &ours.verifier()).unwrap_err();
        assert!(matches!(err, AuditError::UnusableState(_)), "{err}");
    }

    #[test]
    fn a_state_whose_right_edge_disagrees_with_its_root_is_refused() {
        let log = Log::new(5);
        let verifier = log.key.verifier();
        let mut state = log.audit(AuditState::empty(&verifier), false).unwrap();
        state.frontier[0].0[0] ^= 1;
        assert!(matches!(
            AuditState::from_json(&state.to_json(), &verifier),
            Err(AuditError::UnusableState(_))
        ));
    }
}
