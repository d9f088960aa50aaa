//! Registered works (pure): what a rights holder declares about an image, how it is checked,
//! and what the public log records of it.
//!
//! The log names the owner only through a salted commitment, SHA-256(salt || account name),
//! with a fresh 32-byte salt per work kept in the database: the operator can open it for the
//! parties of a dispute, or erase the salt, and every proof still verifies.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::fingerprint::Fingerprints;

pub const MAX_TITLE_CHARS: usize = 500;
pub const MAX_CREATOR_CHARS: usize = 300;
pub const MAX_URL_CHARS: usize = 2000;
pub const MAX_EXTERNAL_ID_CHARS: usize = 200;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WorkError {
    #[error("the field {0:?} is required")]
    MissingField(&'static str),
    #[error("the field {field:?} is longer than {max} characters")]
    FieldTooLong { field: &'static str, max: usize },
    #[error("the source URL must be an http or https URL: {0:?}")]
    InvalidSourceUrl(String),
    #[error("unknown licence {0:?}; GET /v1/licenses lists the known ones")]
    UnknownLicense(String),
}

/// What a rights holder declares when registering a work.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkMetadata {
    pub title: String,
    pub creator: String,
    pub source_url: Option<String>,
    pub license_id: String,
    pub external_id: Option<String>,
    /// AI usage preferences as a `Content-Usage` header value (draft-ietf-aipref-attach).
    pub content_usage: Option<String>,
}

impl WorkMetadata {
    /// Trims every field, treats blank optional fields as absent, and checks what is required.
    /// The licence and the AI preferences are checked against the licence set by the caller.
    pub fn normalised(self) -> Result<Self, WorkError> {
        let optional = |v: Option<String>| {
            v.map(|s| s.trim().to_owned())
                .filter(|s: &String| !s.is_empty())
        };
        let work = WorkMetadata {
            title: self.title.trim().to_owned(),
            creator: self.creator.trim().to_owned(),
            source_url: optional(self.source_url),
            license_id: self.license_id.trim().to_owned(),
            external_id: optional(self.external_id),
            content_usage: optional(self.content_usage),
        };
        for (field, value) in [
            ("title", &work.title),
            ("creator", &work.creator),
            ("license", &work.license_id),
        ] {
            if value.is_empty() {
                return Err(WorkError::MissingField(field));
            }
        }
        for (field, value, max) in [
            ("title", Some(&work.title), MAX_TITLE_CHARS),
            ("creator", Some(&work.creator), MAX_CREATOR_CHARS),
            ("source_url", work.source_url.as_ref(), MAX_URL_CHARS),
            (
                "external_id",
                work.external_id.as_ref(),
                MAX_EXTERNAL_ID_CHARS,
            ),
        ] {
            if value.is_some_and(|v| v.chars().count() > max) {
                return Err(WorkError::FieldTooLong { field, max });
            }
        }
        if let Some(url) = &work.source_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains(' ') {
                return Err(WorkError::InvalidSourceUrl(url.clone()));
            }
        }
        Ok(work)
    }
}

/// A fresh salt for an owner commitment.
pub fn new_salt() -> [u8; 32] {
    let mut salt = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    salt
}

/// SHA-256(salt || account name), hex: the owner as the public log names them.
pub fn owner_commitment(salt: &[u8], account_name: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(account_name.as_bytes());
    hex::encode(hasher.finalize())
}

/// The fingerprints a log entry carries: enough to recompute and compare, without the
/// dihedral variants (derivable from the image).
pub fn fingerprint_summary(fp: &Fingerprints) -> Value {
    json!({
        "algorithm": fp.algorithm,
        "sha256": fp.sha256,
        "pdq": fp.pdq,
        "pdq_quality": fp.pdq_quality,
        "phash": fp.phash,
    })
}

/// The `data` of a `work_registered` entry (documented in `docs/ledger.md`).
pub fn registered_entry(
    work: &WorkMetadata,
    fp: &Fingerprints,
    owner_commitment: &str,
    contract_hash: &str,
) -> Value {
    let mut data = json!({
        "title": work.title,
        "creator": work.creator,
        "license": work.license_id,
        "license_contracts": contract_hash,
        "fingerprints": fingerprint_summary(fp),
        "owner": owner_commitment,
    });
    let fields = data.as_object_mut().expect("an object");
    if let Some(url) = &work.source_url {
        fields.insert("source_url".into(), json!(url));
    }
    if let Some(id) = &work.external_id {
        fields.insert("external_id".into(), json!(id));
    }
    if let Some(usage) = &work.content_usage {
        fields.insert("ai_preferences".into(), json!(usage));
    }
    data
}

/// A change of licence or of AI preferences: a new entry pointing at the registration, which
/// itself stays as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkChange {
    License {
        license_id: String,
    },
    /// `None` withdraws every preference the work had.
    Preferences {
        content_usage: Option<String>,
    },
}

/// The `data` of a `work_license_changed` or `work_preferences_changed` entry.
pub fn change_entry(
    work_id: u64,
    sha256: &str,
    change: &WorkChange,
    owner_commitment: &str,
    contract_hash: &str,
) -> Value {
    match change {
        WorkChange::License { license_id } => json!({
            "work_id": work_id,
            "sha256": sha256,
            "license": license_id,
            "license_contracts": contract_hash,
            "owner": owner_commitment,
        }),
        WorkChange::Preferences { content_usage } => json!({
            "work_id": work_id,
            "sha256": sha256,
            "ai_preferences": content_usage,
            "owner": owner_commitment,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata() -> WorkMetadata {
        WorkMetadata {
            title: "  Harbour at dawn ".into(),
            creator: "A. Photographer".into(),
            source_url: Some(" ".into()),
            license_id: "CC-BY-4.0".into(),
            external_id: None,
            content_usage: None,
        }
    }

    #[test]
    fn normalising_trims_and_drops_blank_optional_fields() {
        let work = metadata().normalised().unwrap();
        assert_eq!(work.title, "Harbour at dawn");
        assert_eq!(work.source_url, None);
    }

    #[test]
    fn missing_and_oversized_fields_are_named() {
        let mut no_title = metadata();
        no_title.title = " ".into();
        assert_eq!(no_title.normalised(), Err(WorkError::MissingField("title")));
        let mut long = metadata();
        long.creator = "x".repeat(MAX_CREATOR_CHARS + 1);
        assert_eq!(
            long.normalised(),
            Err(WorkError::FieldTooLong {
                field: "creator",
                max: MAX_CREATOR_CHARS
            })
        );
        let mut script = metadata();
        script.source_url = Some("javascript:alert(1)".into());
        assert!(matches!(
            script.normalised(),
            Err(WorkError::InvalidSourceUrl(_))
        ));
    }

    #[test]
    fn commitments_depend_on_salt_and_name() {
        let salt = [7u8; 32];
        let a = owner_commitment(&salt, "alice");
        assert_eq!(a.len(), 64);
        assert_eq!(a, owner_commitment(&salt, "alice"));
        assert_ne!(a, owner_commitment(&salt, "bob"));
        assert_ne!(a, owner_commitment(&[8u8; 32], "alice"));
        // Python: hashlib.sha256(b"\x07" * 32 + b"alice").hexdigest()
        assert_eq!(
            a,
            "7835a440da4a6cdfb4bbcfce456a6eb595ff99c5bfbd3e5b1ff9ec656f0a735d"
        );
    }
}
