//! C2SP `tlog-checkpoint`: the signed tree head.
//!
//! The body is exactly three lines (origin, decimal tree size, base64 root hash) with no
//! extension lines, signed as a C2SP signed note by the key whose name is the origin.

use base64::prelude::{Engine, BASE64_STANDARD};
use tlog_tiles::Hash;

use super::{LedgerError, LogKey, LogVerifier};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Checkpoint {
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The note text that gets signed.
    pub fn body(&self, origin: &str) -> String {
        format!(
            "{origin}\n{}\n{}\n",
            self.size,
            BASE64_STANDARD.encode(self.root.0)
        )
    }

    pub fn sign(&self, key: &LogKey) -> Result<SignedCheckpoint, LedgerError> {
        let note = key.sign_note(self.body(key.name()).as_bytes(), &[])?;
        Ok(SignedCheckpoint {
            checkpoint: *self,
            note: String::from_utf8(note).expect("a signed note is UTF-8"),
        })
    }
}

/// A checkpoint together with its exact signed-note bytes, which are what gets published.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: String,
}

impl SignedCheckpoint {
    /// Checks the log's signature and the origin line, then parses the body.
    pub fn open(note: &str, verifier: &LogVerifier) -> Result<Self, LedgerError> {
        let opened = verifier.open(note.as_bytes())?;
        let body = tlog_tiles::Checkpoint::from_bytes(opened.text())
            .map_err(|e| LedgerError::MalformedCheckpoint(e.to_string()))?;
        if body.origin() != verifier.name() {
            return Err(LedgerError::MalformedCheckpoint(format!(
                "origin {:?} is not the key's name {:?}",
                body.origin(),
                verifier.name()
            )));
        }
        Ok(Self {
            checkpoint: Checkpoint {
                size: body.size(),
                root: *body.hash(),
            },
            note: note.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_checkpoint_opens_with_its_key_and_fails_when_any_byte_changes() {
        let key = LogKey::generate("example.org/log").unwrap();
        let cp = Checkpoint {
            size: 12,
            root: Hash([7; 32]),
        };
        let signed = cp.sign(&key).unwrap();
        assert!(signed
            .note
            .starts_with("example.org/log\n12\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n\n— example.org/log "));
        let opened = SignedCheckpoint::open(&signed.note, &key.verifier()).unwrap();
        assert_eq!(opened.checkpoint, cp);
        let bytes = signed.note.as_bytes();
        for i in 0..bytes.len() {
            let mut tampered = bytes.to_vec();
            tampered[i] ^= 0x01;
            let Ok(text) = String::from_utf8(tampered) else {
                continue;
            };
            assert!(
                SignedCheckpoint::open(&text, &key.verifier()).is_err(),
                "byte {i} changed and the checkpoint still opened"
            );
        }
    }
}
