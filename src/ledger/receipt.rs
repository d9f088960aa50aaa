//! Receipts: an entry note plus a C2SP `tlog-proof@v1` file, verifiable offline with nothing
//! but the log's verifier key.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! index 41
//! <base64 audit-path hash, the leaf's sibling first>
//! ...
//!
//! <the checkpoint note, verbatim>
//! ```

use base64::prelude::{Engine, BASE64_STANDARD};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tlog_tiles::Hash;

use super::{leaf_hash, EntryNote, LedgerError, LogVerifier, SignedCheckpoint};

const PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A parsed `tlog-proof@v1` file.
#[derive(Debug, Clone, PartialEq)]
pub struct InclusionProof {
    pub index: u64,
    pub path: Vec<Hash>,
    /// Opaque, unauthenticated extra data; carried through but never trusted.
    pub extra: Option<Vec<u8>>,
    pub checkpoint_note: String,
}

impl InclusionProof {
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        // Every append answers one of these, so it is written into one buffer sized up front.
        let mut text = String::with_capacity(
            PROOF_HEADER.len() + 32 + 45 * self.path.len() + self.checkpoint_note.len(),
        );
        text.push_str(PROOF_HEADER);
        text.push('\n');
        if let Some(extra) = &self.extra {
            text.push_str("extra ");
            BASE64_STANDARD.encode_string(extra, &mut text);
            text.push('\n');
        }
        let _ = writeln!(text, "index {}", self.index);
        for hash in &self.path {
            BASE64_STANDARD.encode_string(hash.0, &mut text);
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&self.checkpoint_note);
        text
    }

    pub fn parse(text: &str) -> Result<Self, LedgerError> {
        let malformed = |why: &str| LedgerError::MalformedProof(why.to_owned());
        let (head, checkpoint_note) = text
            .split_once("\n\n")
            .ok_or_else(|| malformed("no empty line before the checkpoint"))?;
        let mut lines = head.split('\n').peekable();
        if lines.next() != Some(PROOF_HEADER) {
            return Err(malformed("the first line is not c2sp.org/tlog-proof@v1"));
        }
        let extra = match lines.peek().and_then(|l| l.strip_prefix("extra ")) {
            Some(b64) => {
                let bytes = BASE64_STANDARD
                    .decode(b64)
                    .map_err(|_| malformed("the extra line is not base64"))?;
                lines.next();
                Some(bytes)
            }
            None => None,
        };
        let index_text = lines
            .next()
            .and_then(|l| l.strip_prefix("index "))
            .ok_or_else(|| malformed("no index line"))?;
        let canonical_decimal = !index_text.is_empty()
            && index_text.bytes().all(|b| b.is_ascii_digit())
            && (index_text == "0" || !index_text.starts_with('0'));
        if !canonical_decimal {
            return Err(malformed(
                "the index is not a decimal without leading zeros",
            ));
        }
        let index = index_text
            .parse()
            .map_err(|_| malformed("the index does not fit in 64 bits"))?;
        let path = lines
            .map(|line| {
                let bytes = BASE64_STANDARD
                    .decode(line)
                    .map_err(|_| malformed("an audit-path line is not base64"))?;
                let hash: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| malformed("an audit-path hash is not 32 bytes"))?;
                Ok(Hash(hash))
            })
            .collect::<Result<Vec<_>, LedgerError>>()?;
        Ok(Self {
            index,
            path,
            extra,
            checkpoint_note: checkpoint_note.to_owned(),
        })
    }
}

/// What the service hands out when it records an entry, and re-issues on request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The entry's signed note, exactly the leaf data.
    pub entry: String,
    /// The `tlog-proof@v1` text proving the entry is in the checkpointed tree.
    pub proof: String,
}

/// What a successful verification established.
#[derive(Debug, Clone)]
pub struct VerifiedReceipt {
    pub entry: EntryNote,
    pub index: u64,
    pub checkpoint: SignedCheckpoint,
}

/// Verifies a receipt offline: the checkpoint's signature, the entry's signature and format,
/// and the audit path. Each failure names the check that failed.
///
/// The audit path is checked with `rs_merkle`, an implementation independent of the
/// `tlog_tiles` code that produced it.
pub fn verify_receipt(
    receipt: &Receipt,
    verifier: &LogVerifier,
) -> Result<VerifiedReceipt, LedgerError> {
    let failed = |check: &'static str, err: LedgerError| LedgerError::ReceiptCheckFailed {
        check,
        reason: err.to_string(),
    };
    let proof = InclusionProof::parse(&receipt.proof).map_err(|e| failed("proof_format", e))?;
    let checkpoint = SignedCheckpoint::open(&proof.checkpoint_note, verifier)
        .map_err(|e| failed("checkpoint_signature", e))?;
    let entry = EntryNote::open(receipt.entry.as_bytes(), verifier)
        .map_err(|e| failed("entry_signature", e))?;
    let tree_size = checkpoint.checkpoint.size;
    if proof.index >= tree_size {
        return Err(failed(
            "inclusion_proof",
            LedgerError::IndexBeyondTree {
                index: proof.index,
                tree_size,
            },
        ));
    }
    if !audit_path_holds(
        &proof.path,
        proof.index,
        tree_size,
        leaf_hash(&entry.bytes),
        checkpoint.checkpoint.root,
    ) {
        return Err(failed("inclusion_proof", LedgerError::InvalidProof));
    }
    Ok(VerifiedReceipt {
        entry,
        index: proof.index,
        checkpoint,
    })
}

/// rs_merkle's single-leaf proofs are RFC 9162 audit paths when its hasher uses the 0x01 node
/// prefix and passes a lone node up unchanged, which is how RFC 9162 splits an unbalanced tree.
/// Leaves are given to it already hashed (with the 0x00 prefix).
#[derive(Clone)]
pub struct Rfc9162Hasher;

impl rs_merkle::Hasher for Rfc9162Hasher {
    type Hash = [u8; 32];

    fn hash(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }

    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(right) => {
                let mut hasher = Sha256::new();
                hasher.update([0x01]);
                hasher.update(left);
                hasher.update(right);
                hasher.finalize().into()
            }
            None => *left,
        }
    }
}

pub(super) fn audit_path_holds(
    path: &[Hash],
    index: u64,
    tree_size: u64,
    leaf: Hash,
    root: Hash,
) -> bool {
    let (Ok(index), Ok(tree_size)) = (usize::try_from(index), usize::try_from(tree_size)) else {
        return false;
    };
    // rs_merkle ignores surplus hashes, and a receipt with an extra line must not verify.
    if path.len() != audit_path_len(index, tree_size) {
        return false;
    }
    let proof = rs_merkle::MerkleProof::<Rfc9162Hasher>::new(path.iter().map(|h| h.0).collect());
    std::panic::catch_unwind(|| proof.verify(root.0, &[index], &[leaf.0], tree_size))
        .unwrap_or(false)
}

/// How many hashes the audit path of leaf `index` in a tree of `size` leaves has: one for each
/// level at which the node on the leaf's path has a sibling.
fn audit_path_len(index: usize, size: usize) -> usize {
    let (mut node, mut width, mut len) = (index, size, 0);
    while width > 1 {
        if (node ^ 1) < width {
            len += 1;
        }
        node >>= 1;
        width = width.div_ceil(2);
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{prove_inclusion, tree_root, MemoryHashes};

    #[test]
    fn rs_merkle_accepts_every_audit_path_that_tlog_produces_and_rejects_wrong_ones() {
        let entries: Vec<Vec<u8>> = (0..70).map(|i| vec![i as u8; i % 7]).collect();
        let store = MemoryHashes::build(&entries);
        for size in 1..=70u64 {
            let root = tree_root(size, &store).unwrap();
            for index in 0..size {
                let path = prove_inclusion(index, size, &store).unwrap();
                let leaf = leaf_hash(&entries[index as usize]);
                assert!(
                    audit_path_holds(&path, index, size, leaf, root),
                    "{index}/{size}"
                );
                if size > 1 {
                    let other = (index + 1) % size;
                    assert!(!audit_path_holds(&path, other, size, leaf, root));
                }
                let mut longer = path.clone();
                longer.push(root);
                assert!(!audit_path_holds(&longer, index, size, leaf, root));
            }
        }
    }

    #[test]
    fn proof_text_round_trips_and_rejects_leading_zeros() {
        let proof = InclusionProof {
            index: 5,
            path: vec![Hash([1; 32]), Hash([2; 32])],
            extra: Some(b"context".to_vec()),
            checkpoint_note: "origin\n6\nAAAA\n\n— origin abc\n".into(),
        };
        assert_eq!(InclusionProof::parse(&proof.to_text()).unwrap(), proof);
        let bad = proof.to_text().replace("index 5", "index 05");
        assert!(InclusionProof::parse(&bad).is_err());
    }
}
