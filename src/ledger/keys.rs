//! Ed25519 keys in the C2SP signed-note text formats.
//!
//! The signing key is kept as Go's `note` private-key text
//! (`PRIVATE+KEY+<name>+<key id>+base64(0x01 || seed)`), the verifier key as the standard
//! `<name>+<key id>+base64(0x01 || public key)`, so both can be used with other signed-note
//! tools unchanged.

use base64::prelude::{Engine, BASE64_STANDARD};
use ed25519_dalek::{Signer as _, SigningKey};
use signed_note::{Note, StandardVerifier, VerificationError, Verifier, Verifiers};

use super::LedgerError;

const ALG_ED25519: u8 = 0x01;

/// The log's signing key. Its name is the log's origin.
#[derive(Clone)]
pub struct LogKey {
    name: String,
    key_id: u32,
    signing_key: SigningKey,
}

impl std::fmt::Debug for LogKey {
    // Never print the secret, even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogKey")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

impl LogKey {
    /// A fresh key from the operating system's random source.
    pub fn generate(name: &str) -> Result<Self, LedgerError> {
        let (private_text, _) = signed_note::generate_key(&mut rand::rngs::OsRng, name);
        Self::from_private_text(&private_text)
    }

    /// Parses the private-key text, checking that its key ID matches its key.
    pub fn from_private_text(text: &str) -> Result<Self, LedgerError> {
        let text = text.trim();
        // StandardSigner checks the format, the name and the key ID for us.
        signed_note::StandardSigner::new(text)
            .map_err(|e| LedgerError::MalformedKey(e.to_string()))?;
        let mut fields = text.splitn(5, '+');
        let (_, _, name, id_hex, key_b64) = (
            fields.next(),
            fields.next(),
            fields.next().unwrap_or_default(),
            fields.next().unwrap_or_default(),
            fields.next().unwrap_or_default(),
        );
        let key = BASE64_STANDARD
            .decode(key_b64)
            .map_err(|e| LedgerError::MalformedKey(e.to_string()))?;
        let seed: [u8; 32] = key
            .get(1..)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| LedgerError::MalformedKey("the seed is not 32 bytes".into()))?;
        let key_id = u32::from_str_radix(id_hex, 16)
            .map_err(|e| LedgerError::MalformedKey(e.to_string()))?;
        Ok(Self {
            name: name.to_owned(),
            key_id,
            signing_key: SigningKey::from_bytes(&seed),
        })
    }

    pub fn to_private_text(&self) -> String {
        let mut key = vec![ALG_ED25519];
        key.extend_from_slice(&self.signing_key.to_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.key_id,
            BASE64_STANDARD.encode(key)
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The first four bytes of SHA-256(name || 0x0A || 0x01 || public key), per C2SP.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    pub fn verifier(&self) -> LogVerifier {
        let text =
            signed_note::new_ed25519_verifier_key(&self.name, &self.signing_key.verifying_key());
        LogVerifier::from_text(&text).expect("a verifier key we just encoded parses")
    }

    /// Signs `text` as a signed note, adding `extra` signatures (for example an actor's) after
    /// the log's own.
    pub fn sign_note(
        &self,
        text: &[u8],
        extra: &[signed_note::Signature],
    ) -> Result<Vec<u8>, LedgerError> {
        let mut note =
            Note::new(text, &[]).map_err(|e| LedgerError::MalformedEntry(e.to_string()))?;
        note.add_sigs(&[self])
            .map_err(|e| LedgerError::MalformedEntry(e.to_string()))?;
        let mut bytes = note.to_bytes();
        for sig in extra {
            bytes.extend_from_slice(&sig.to_bytes());
        }
        Ok(bytes)
    }
}

impl signed_note::Signer for LogKey {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.key_id
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        Ok(self.signing_key.sign(msg).to_bytes().to_vec())
    }
}

/// A verifier key: checks the signatures of one signer on signed notes.
#[derive(Clone)]
pub struct LogVerifier {
    text: String,
    name: String,
    key_id: u32,
    key: ed25519_dalek::VerifyingKey,
}

impl std::fmt::Debug for LogVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl LogVerifier {
    /// Parses the standard verifier-key text `name+keyid+base64(0x01 || key)`.
    pub fn from_text(text: &str) -> Result<Self, LedgerError> {
        let text = text.trim();
        StandardVerifier::new(text)
            .map_err(|e| LedgerError::MalformedKey(format!("verifier key: {e}")))?;
        // StandardVerifier checks the format and the key ID; it does not lend out the key,
        // which the signature checks (alone or batched) need.
        let mut fields = text.splitn(3, '+');
        let (name, id_hex, key_b64) = (
            fields.next().unwrap_or_default(),
            fields.next().unwrap_or_default(),
            fields.next().unwrap_or_default(),
        );
        let malformed = |what: &str| LedgerError::MalformedKey(format!("verifier key: {what}"));
        let key_id = u32::from_str_radix(id_hex, 16).map_err(|_| malformed("bad key id"))?;
        let raw = BASE64_STANDARD
            .decode(key_b64)
            .map_err(|_| malformed("bad base64"))?;
        let public: [u8; 32] = raw
            .get(1..)
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| malformed("the key is not 32 bytes"))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&public)
            .map_err(|_| malformed("not a point on the curve"))?;
        Ok(Self {
            text: text.to_owned(),
            name: name.to_owned(),
            key_id,
            key,
        })
    }

    /// The key as its standard text.
    pub fn as_text(&self) -> &str {
        &self.text
    }

    /// The signer's name; for the log's key, the log's origin.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Opens a signed note, requiring a valid signature by this key. Signatures by other keys
    /// are returned unverified, as the signed-note specification says.
    pub fn open(&self, note_bytes: &[u8]) -> Result<Note, LedgerError> {
        let (note, signature) = self.open_pending(note_bytes)?;
        signature.check()?;
        Ok(note)
    }

    /// Opens a signed note like [`LogVerifier::open`], except that this key's signature is
    /// only found and parsed, not checked: the caller checks it, alone or in a batch with
    /// others (see [`PendingSignature`]). Everything else is checked as `open` checks it.
    pub fn open_pending(&self, note_bytes: &[u8]) -> Result<(Note, PendingSignature), LedgerError> {
        let note = Note::from_bytes(note_bytes)
            .map_err(|e| LedgerError::BadSignature(format!("malformed signed note: {e}")))?;
        let finder = SignatureFinder {
            verifier: self,
            found: std::cell::Cell::new(None),
        };
        note.verify(&finder).map_err(|e| match e {
            signed_note::NoteError::UnverifiedNote => {
                LedgerError::BadSignature(format!("the note carries no signature by {}", self.name))
            }
            other => LedgerError::BadSignature(other.to_string()),
        })?;
        let signature = finder
            .found
            .get()
            .expect("the note library found the signature it accepted");
        let pending = PendingSignature {
            signer: self.name.clone(),
            key_id: self.key_id,
            key: self.key,
            signature,
            message: note.text().to_vec(),
        };
        Ok((note, pending))
    }
}

/// An Ed25519 signature found in a signed note for a known key, not yet checked.
///
/// An audit checks a whole bundle's signatures in one batch ([`PendingSignature::check_batch`]),
/// several times as fast as one `verify` each. A batch that fails says nothing about which signature
/// failed, so the caller then checks each with [`PendingSignature::check`], which is exactly
/// the check `LogVerifier::open` makes (and Go's verifier makes).
pub struct PendingSignature {
    pub signer: String,
    pub key_id: u32,
    pub key: ed25519_dalek::VerifyingKey,
    pub signature: ed25519_dalek::Signature,
    pub message: Vec<u8>,
}

impl PendingSignature {
    /// Checks this one signature alone.
    pub fn check(&self) -> Result<(), LedgerError> {
        use ed25519_dalek::Verifier as _;
        self.key
            .verify(&self.message, &self.signature)
            .map_err(|_| {
                LedgerError::BadSignature(format!(
                    "invalid signature for key {}+{:08x}",
                    self.signer, self.key_id
                ))
            })
    }

    /// Checks all `signatures` at once. `Ok` means every one is valid; an error means at
    /// least one is not (check them one by one to find which).
    ///
    /// ed25519-zebra's batch, with fresh random coefficients per batch so that no signer can
    /// aim at them; it merges the terms of signatures made with the same key, which is nearly
    /// every signature here (the log's), and is then about twice as fast again as
    /// ed25519-dalek's `verify_batch`. Its equation is the cofactored one of ZIP 215.
    pub fn check_batch(signatures: &[&PendingSignature]) -> Result<(), LedgerError> {
        let mut batch = ed25519_zebra::batch::Verifier::new();
        for pending in signatures {
            let key = ed25519_zebra::VerificationKeyBytes::from(pending.key.to_bytes());
            batch.queue((key, pending.signature, &pending.message));
        }
        batch
            .verify(rand::rngs::OsRng)
            .map_err(|_| LedgerError::BadSignature("a signature in the batch is invalid".into()))
    }
}

/// Hands the note library a verifier that accepts any well-formed signature by this key and
/// remembers it, so the note's own rules (which line is whose, duplicates, unknown signers)
/// stay the library's while the arithmetic is deferred to a batch.
struct SignatureFinder<'a> {
    verifier: &'a LogVerifier,
    found: std::cell::Cell<Option<ed25519_dalek::Signature>>,
}

impl Verifiers for SignatureFinder<'_> {
    fn verifier(&self, name: &str, id: u32) -> Result<&dyn Verifier, VerificationError> {
        if name == self.verifier.name && id == self.verifier.key_id {
            Ok(self)
        } else {
            Err(VerificationError::UnknownKey {
                name: name.to_owned(),
                id,
            })
        }
    }
}

impl Verifier for SignatureFinder<'_> {
    fn name(&self) -> &str {
        &self.verifier.name
    }

    fn key_id(&self) -> u32 {
        self.verifier.key_id
    }

    fn verify(&self, _msg: &[u8], sig: &[u8]) -> bool {
        match <[u8; 64]>::try_from(sig) {
            Ok(bytes) => {
                self.found
                    .set(Some(ed25519_dalek::Signature::from_bytes(&bytes)));
                true
            }
            Err(_) => false,
        }
    }
}

/// Checks an actor's signature over an entry's note text and answers it as a signature line
/// to append after the log's. `signature` is the base64 a signed-note signature line carries:
/// the 4-byte key id, then the 64-byte Ed25519 signature.
pub fn actor_signature(
    actor: &LogVerifier,
    text: &str,
    signature: &str,
) -> Result<signed_note::Signature, LedgerError> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(signature.trim())
        .map_err(|_| LedgerError::BadSignature("the signature is not base64".into()))?;
    if raw.len() != 4 + 64 {
        return Err(LedgerError::BadSignature(format!(
            "the signature has {} bytes; a key id and an Ed25519 signature have 68",
            raw.len()
        )));
    }
    let id = u32::from_be_bytes(raw[..4].try_into().expect("four bytes"));
    let line = signed_note::Signature::new(actor.name().to_owned(), id, raw[4..].to_vec())
        .map_err(|e| LedgerError::BadSignature(e.to_string()))?;
    let mut note = text.as_bytes().to_vec();
    note.push(b'\n');
    note.extend_from_slice(&line.to_bytes());
    actor.open(&note)?;
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_actor_signature_over_the_text_is_accepted_and_any_other_refused() {
        use base64::Engine as _;
        let actor = LogKey::generate("publisher.example").unwrap();
        let text = "example.org/log/entry/v1\n{}\n";
        let signed = actor.sign_note(text.as_bytes(), &[]).unwrap();
        let line = std::str::from_utf8(&signed)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .to_owned();
        let b64 = line.rsplit(' ').next().unwrap();
        let accepted = actor_signature(&actor.verifier(), text, b64).unwrap();
        assert_eq!(
            String::from_utf8(accepted.to_bytes()).unwrap(),
            format!("{line}\n")
        );
        assert!(
            actor_signature(&actor.verifier(), "example.org/log/entry/v1\n{ }\n", b64).is_err()
        );
        let other = LogKey::generate("publisher.example").unwrap();
        assert!(actor_signature(&other.verifier(), text, b64).is_err());
        let short = base64::engine::general_purpose::STANDARD.encode([0u8; 10]);
        assert!(actor_signature(&actor.verifier(), text, &short).is_err());
    }

    #[test]
    fn private_text_round_trips_and_keeps_the_key_id() {
        let key = LogKey::generate("example.org/log").unwrap();
        let again = LogKey::from_private_text(&key.to_private_text()).unwrap();
        assert_eq!(again.verifier().as_text(), key.verifier().as_text());
        assert!(key.verifier().as_text().starts_with("example.org/log+"));
    }

    #[test]
    fn a_note_signed_by_the_key_opens_and_a_changed_byte_does_not() {
        let key = LogKey::generate("example.org/log").unwrap();
        let signed = key.sign_note(b"hello\nworld\n", &[]).unwrap();
        key.verifier().open(&signed).unwrap();
        let mut tampered = signed.clone();
        tampered[1] ^= 0x01;
        assert!(key.verifier().open(&tampered).is_err());
    }

    #[test]
    fn a_note_signed_by_another_key_is_rejected() {
        let ours = LogKey::generate("example.org/log").unwrap();
        let theirs = LogKey::generate("example.org/log").unwrap();
        let signed = theirs.sign_note(b"hello\n", &[]).unwrap();
        assert!(ours.verifier().open(&signed).is_err());
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert!(LogKey::from_private_text("PRIVATE+KEY+x+00000000+AAAA").is_err());
        assert!(LogVerifier::from_text("not a key").is_err());
    }
}
