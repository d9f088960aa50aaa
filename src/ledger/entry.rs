//! Log entries: each entry is itself a C2SP signed note.
//!
//! ```text
//! <origin>/entry/v1
//! {"data":{...},"issued_at":"2026-11-26T17:00:00Z","kind":"operator_note"}
//!
//! — <origin> <base64(key id || Ed25519 signature)>
//! ```
//!
//! The second line is canonical JSON: no insignificant white space and object keys sorted by
//! their UTF-8 bytes at every level, so the same body always has the same bytes. The complete
//! note bytes are the leaf data; they are stored and served as they are, never re-serialised.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::keys::PendingSignature;
use super::{LedgerError, LogKey, LogVerifier};

/// The tlog-tiles entry bundle format prefixes each entry with a 16-bit length.
pub const MAX_ENTRY_BYTES: usize = 65_535;

/// The first line of an entry note is the log's origin followed by this suffix.
pub const ENTRY_FORMAT_SUFFIX: &str = "/entry/v1";

/// What an entry records. Each kind's `data` is documented in `docs/ledger.md` and
/// `contracts/entry.schema.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Free text appended by an operator: for testing a deployment, or for recording an
    /// operational event (a key rotation, a planned migration) in the log itself.
    OperatorNote,
    /// A rights holder registered a work: its metadata, licence, fingerprints and owner
    /// commitment. The work's id is this entry's index.
    WorkRegistered,
    /// The licence of a registered work changed; the registration stays as it was.
    WorkLicenseChanged,
    /// The AI usage preferences of a registered work were set, changed or withdrawn.
    WorkPreferencesChanged,
    /// A publisher recorded a use of a registered work: the media's fingerprints, the match,
    /// the intended use, the licence's obligations and the credit line. The attribution's id
    /// is this entry's index.
    AttributionRecorded,
    /// The publisher withdrew an attribution.
    AttributionRevoked,
    /// The work's rights holder disputed an attribution.
    AttributionDisputed,
}

impl EntryKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EntryKind::OperatorNote => "operator_note",
            EntryKind::WorkRegistered => "work_registered",
            EntryKind::WorkLicenseChanged => "work_license_changed",
            EntryKind::WorkPreferencesChanged => "work_preferences_changed",
            EntryKind::AttributionRecorded => "attribution_recorded",
            EntryKind::AttributionRevoked => "attribution_revoked",
            EntryKind::AttributionDisputed => "attribution_disputed",
        }
    }
}

/// The typed envelope every entry shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryBody {
    pub kind: EntryKind,
    /// RFC 3339 UTC time at which the service accepted the entry.
    pub issued_at: String,
    pub data: Value,
}

/// A parsed, signature-checked entry together with its exact bytes.
#[derive(Debug, Clone)]
pub struct EntryNote {
    pub bytes: Vec<u8>,
    pub body: EntryBody,
}

impl EntryNote {
    /// The note text (format line and canonical body line) that gets signed.
    pub fn text(origin: &str, body: &EntryBody) -> Result<String, LedgerError> {
        // The envelope's keys are written in their sorted order by hand: going through a
        // `Value` would copy `data`, and this runs on every append.
        let mut text = Vec::with_capacity(origin.len() + 256);
        text.extend_from_slice(origin.as_bytes());
        text.extend_from_slice(ENTRY_FORMAT_SUFFIX.as_bytes());
        text.extend_from_slice(b"\n{\"data\":");
        write_canonical(&body.data, &mut text);
        text.extend_from_slice(b",\"issued_at\":");
        write_json(&body.issued_at, &mut text);
        text.extend_from_slice(b",\"kind\":");
        write_json(body.kind.as_str(), &mut text);
        text.extend_from_slice(b"}\n");
        String::from_utf8(text).map_err(|e| LedgerError::MalformedEntry(e.to_string()))
    }

    /// Builds and signs an entry with the log's key, adding `extra` signatures (an actor's,
    /// made over the same text) after the log's.
    pub fn sign(
        key: &LogKey,
        body: EntryBody,
        extra: &[signed_note::Signature],
    ) -> Result<Self, LedgerError> {
        let text = Self::text(key.name(), &body)?;
        let bytes = key.sign_note(text.as_bytes(), extra)?;
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(LedgerError::EntryTooLarge {
                size: bytes.len(),
                max: MAX_ENTRY_BYTES,
            });
        }
        Ok(Self { bytes, body })
    }

    /// Checks the log's signature, the format line and the canonical body.
    pub fn open(bytes: &[u8], verifier: &LogVerifier) -> Result<Self, LedgerError> {
        let (entry, signature) = Self::open_pending(bytes, verifier)?;
        signature.check()?;
        Ok(entry)
    }

    /// Like [`EntryNote::open`], but the log's signature is answered to be checked by the
    /// caller (in a batch, by an audit) instead of checked here.
    pub fn open_pending(
        bytes: &[u8],
        verifier: &LogVerifier,
    ) -> Result<(Self, PendingSignature), LedgerError> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(LedgerError::EntryTooLarge {
                size: bytes.len(),
                max: MAX_ENTRY_BYTES,
            });
        }
        let (note, signature) = verifier.open_pending(bytes)?;
        let text = std::str::from_utf8(note.text())
            .map_err(|_| LedgerError::MalformedEntry("the entry is not UTF-8".into()))?;
        let mut lines = text.strip_suffix('\n').unwrap_or(text).split('\n');
        let format_line = lines.next().unwrap_or_default();
        let expected = format!("{}{ENTRY_FORMAT_SUFFIX}", verifier.name());
        if format_line != expected {
            return Err(LedgerError::MalformedEntry(format!(
                "first line is {format_line:?}, expected {expected:?}"
            )));
        }
        let body_line = lines
            .next()
            .ok_or_else(|| LedgerError::MalformedEntry("the entry has no body line".into()))?;
        if lines.next().is_some() {
            return Err(LedgerError::MalformedEntry(
                "the entry has more than two lines of text".into(),
            ));
        }
        let body: EntryBody = serde_json::from_str(body_line)
            .map_err(|e| LedgerError::MalformedEntry(format!("body: {e}")))?;
        if Self::text(verifier.name(), &body)? != text {
            return Err(LedgerError::MalformedEntry(
                "the body is not in canonical form".into(),
            ));
        }
        let entry = Self {
            bytes: bytes.to_vec(),
            body,
        };
        Ok((entry, signature))
    }
}

impl EntryNote {
    /// For an entry whose data names an actor's key (`actor_key`, a verifier key), checks that
    /// the note carries a valid signature by that key too, and answers the key.
    pub fn check_actor_signature(&self) -> Result<Option<LogVerifier>, LedgerError> {
        let Some((actor, signature)) = self.actor_signature_pending()? else {
            return Ok(None);
        };
        signature
            .check()
            .map_err(|e| actor_failure(actor.name(), e))?;
        Ok(Some(actor))
    }

    /// Like [`EntryNote::check_actor_signature`], but the signature is answered to be checked
    /// by the caller.
    pub fn actor_signature_pending(
        &self,
    ) -> Result<Option<(LogVerifier, PendingSignature)>, LedgerError> {
        let Some(key) = self.body.data.get("actor_key") else {
            return Ok(None);
        };
        let actor = key
            .as_str()
            .ok_or_else(|| LedgerError::MalformedEntry("actor_key is not a string".into()))
            .and_then(LogVerifier::from_text)?;
        let (_, signature) = actor
            .open_pending(&self.bytes)
            .map_err(|e| actor_failure(actor.name(), e))?;
        Ok(Some((actor, signature)))
    }
}

pub(super) fn actor_failure(actor: &str, err: LedgerError) -> LedgerError {
    LedgerError::BadSignature(format!("the actor's signature ({actor}): {err}"))
}

/// Canonical JSON, written by hand because serde_json's key order depends on a crate feature
/// (`preserve_order`) that any other dependency may switch on for the whole build.
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(key, out);
                out.push(b':');
                write_canonical(&map[key], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_json(scalar, out),
    }
}

/// Compact JSON for a string or scalar, written in place.
fn write_json<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    serde_json::to_writer(out, value).expect("strings and scalars always serialise to JSON");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body() -> EntryBody {
        EntryBody {
            kind: EntryKind::OperatorNote,
            issued_at: "2026-11-26T17:00:00Z".into(),
            data: json!({"text": "hello\nworld", "b": 1, "a": [true, null]}),
        }
    }

    #[test]
    fn the_body_line_is_canonical_json_on_one_line() {
        let text = EntryNote::text("example.org/log", &body()).unwrap();
        assert_eq!(
            text,
            "example.org/log/entry/v1\n{\"data\":{\"a\":[true,null],\"b\":1,\"text\":\"hello\\nworld\"},\"issued_at\":\"2026-11-26T17:00:00Z\",\"kind\":\"operator_note\"}\n"
        );
    }

    #[test]
    fn the_envelope_written_by_hand_equals_the_canonical_form_of_the_whole_body() {
        let kinds = [
            EntryKind::OperatorNote,
            EntryKind::WorkRegistered,
            EntryKind::WorkLicenseChanged,
            EntryKind::WorkPreferencesChanged,
            EntryKind::AttributionRecorded,
            EntryKind::AttributionRevoked,
            EntryKind::AttributionDisputed,
        ];
        let data = [
            json!({"text": "\u{1F600} \"quoted\" \\ tab\t", "z": {"b": 1.5, "a": -2}}),
            json!(null),
            json!([]),
        ];
        for (kind, data) in kinds.into_iter().zip(data.iter().cycle()) {
            let body = EntryBody {
                kind,
                issued_at: "2026-11-27T10:00:00Z".into(),
                data: data.clone(),
            };
            let mut whole = b"o/entry/v1\n".to_vec();
            write_canonical(&serde_json::to_value(&body).unwrap(), &mut whole);
            whole.push(b'\n');
            assert_eq!(EntryNote::text("o", &body).unwrap().as_bytes(), whole);
        }
    }

    #[test]
    fn a_signed_entry_opens_and_any_changed_byte_is_caught() {
        let key = LogKey::generate("example.org/log").unwrap();
        let entry = EntryNote::sign(&key, body(), &[]).unwrap();
        let opened = EntryNote::open(&entry.bytes, &key.verifier()).unwrap();
        assert_eq!(opened.body, body());
        for i in 0..entry.bytes.len() {
            let mut tampered = entry.bytes.clone();
            tampered[i] ^= 0x01;
            assert!(
                EntryNote::open(&tampered, &key.verifier()).is_err(),
                "byte {i} changed and the entry still opened"
            );
        }
    }

    #[test]
    fn oversized_entries_are_refused() {
        let key = LogKey::generate("example.org/log").unwrap();
        let mut big = body();
        big.data = json!({"text": "x".repeat(70_000)});
        assert!(matches!(
            EntryNote::sign(&key, big, &[]),
            Err(LedgerError::EntryTooLarge { .. })
        ));
    }
}
