//! Entries an account signs too.
//!
//! An account that registered an Ed25519 verifier key can put its own signature on the entry
//! its request appends, beside the log's. The client cannot know the note text in advance (the
//! service adds the time, the match it found, a fresh commitment salt), so signing takes two
//! requests, and the service keeps no state between them:
//!
//! 1. the request with `Provenance-Prepare: true` answers the exact note text it would append,
//!    with the time and salt it used, and appends nothing;
//! 2. the same request again, with that time and salt and the account's signature over the
//!    text, appends the entry carrying both signatures. If anything the text depends on
//!    changed in between, the text differs and the signature fails: prepare again.
//!
//! The signed text names the account's key (`actor_key`), so anyone can check the second
//! signature offline. Its time must be recent, and a signed text is logged at most once, so a
//! captured request cannot be replayed.

use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::ServiceError;
use crate::ledger::{self, LogVerifier};
use crate::store::Account;

/// How far a signed request's time may be from the service's clock.
pub const SIGNED_REQUEST_WINDOW: Duration = Duration::from_secs(600);

/// How a write request is authored beyond its bearer token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Signing {
    #[default]
    Unsigned,
    /// Answer the note text the request would append; append nothing.
    Prepare,
    /// The account's signature over the note text a `Prepare` answered.
    Signed {
        issued_at: String,
        /// The commitment salt the `Prepare` answered, hex, for requests that commit to the
        /// account's name.
        salt: Option<String>,
        signature: String,
    },
}

/// What a prepared request would append.
#[derive(Debug, Clone, Serialize)]
pub struct Prepared {
    /// The note text to sign: the format line and the body line.
    pub note: String,
    pub issued_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// The verifier key the signature must verify under.
    pub key: String,
}

/// A write's result: appended, or only prepared for signing.
#[derive(Debug, Clone)]
pub enum Written<T> {
    Prepared(Prepared),
    Recorded(T),
}

/// How a signed entry differs from an unsigned one: its time and its actor's signature line.
pub(super) struct Authored {
    pub issued_at: Option<String>,
    pub actor: Option<LogVerifier>,
}

impl Signing {
    /// The salt for a commitment in this request: the one prepared earlier, or a fresh one.
    pub fn salt(&self) -> Result<[u8; 32], ServiceError> {
        match self {
            Signing::Signed {
                salt: Some(hex_salt),
                ..
            } => {
                let mut salt = [0u8; 32];
                hex::decode_to_slice(hex_salt.trim(), &mut salt).map_err(|_| {
                    ServiceError::InvalidSigning(
                        "Provenance-Salt must be the 64 hex digits the prepared request answered"
                            .into(),
                    )
                })?;
                Ok(salt)
            }
            Signing::Signed { salt: None, .. } => Err(ServiceError::InvalidSigning(
                "this request commits to the account's name: send the Provenance-Salt the prepared request answered".into(),
            )),
            _ => Ok(crate::works::new_salt()),
        }
    }

    pub fn is_unsigned(&self) -> bool {
        matches!(self, Signing::Unsigned)
    }

    /// Checks what can be checked before the entry is built.
    pub(super) fn authored(&self, account: &Account) -> Result<Authored, ServiceError> {
        if self.is_unsigned() {
            return Ok(Authored {
                issued_at: None,
                actor: None,
            });
        }
        let key = account
            .public_key
            .as_deref()
            .ok_or(ServiceError::NoKeyRegistered)?;
        let actor = LogVerifier::from_text(key)
            .map_err(|e| ServiceError::Store(crate::store::StoreError::Corrupt(e.to_string())))?;
        let issued_at = match self {
            Signing::Signed { issued_at, .. } => Some(recent(issued_at)?),
            _ => None,
        };
        Ok(Authored {
            issued_at,
            actor: Some(actor),
        })
    }

    /// For a signed request, the signature line to add and the digest that guards against
    /// replay.
    pub(super) fn check(
        &self,
        actor: Option<&LogVerifier>,
        text: &str,
    ) -> Result<Option<(signed_note::Signature, [u8; 32])>, ServiceError> {
        let (Signing::Signed { signature, .. }, Some(actor)) = (self, actor) else {
            return Ok(None);
        };
        let line = ledger::actor_signature(actor, text, signature).map_err(|e| {
            ServiceError::BadActorSignature(format!(
                "{e}; the signature must be over the exact note text a prepared request answers"
            ))
        })?;
        Ok(Some((line, Sha256::digest(text.as_bytes()).into())))
    }
}

/// Parses a signed request's time, which must be RFC 3339 UTC and within the window.
fn recent(issued_at: &str) -> Result<String, ServiceError> {
    let parsed = OffsetDateTime::parse(issued_at.trim(), &Rfc3339).map_err(|_| {
        ServiceError::InvalidSigning(format!(
            "Provenance-Issued-At {issued_at:?} is not an RFC 3339 time"
        ))
    })?;
    let skew = (OffsetDateTime::now_utc() - parsed).unsigned_abs();
    if skew > SIGNED_REQUEST_WINDOW {
        return Err(ServiceError::StaleSignedRequest {
            issued_at: issued_at.to_owned(),
            window_seconds: SIGNED_REQUEST_WINDOW.as_secs(),
        });
    }
    let canonical = parsed
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .map_err(|e| ServiceError::InvalidSigning(e.to_string()))?;
    if canonical != issued_at.trim() {
        return Err(ServiceError::InvalidSigning(format!(
            "Provenance-Issued-At must be the UTC time the prepared request answered, e.g. {canonical}"
        )));
    }
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_times_must_be_recent_utc_and_canonical() {
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap()
            .format(&Rfc3339)
            .unwrap();
        assert_eq!(recent(&now).unwrap(), now);
        assert!(matches!(
            recent("2020-01-01T00:00:00Z"),
            Err(ServiceError::StaleSignedRequest { .. })
        ));
        assert!(matches!(
            recent("yesterday"),
            Err(ServiceError::InvalidSigning(_))
        ));
    }

    #[test]
    fn a_signed_request_needs_the_prepared_salt() {
        let signed = |salt: Option<&str>| Signing::Signed {
            issued_at: String::new(),
            salt: salt.map(str::to_owned),
            signature: String::new(),
        };
        assert!(signed(None).salt().is_err());
        assert!(signed(Some("abcd")).salt().is_err());
        assert_eq!(signed(Some(&"07".repeat(32))).salt().unwrap(), [7u8; 32]);
        assert_ne!(
            Signing::Unsigned.salt().unwrap(),
            Signing::Unsigned.salt().unwrap()
        );
    }
}
