//! Attribution records (pure): a publisher's declared use of a registered work, the evidence
//! that the media is the work, the licence verdict and the credit owed, and what the public
//! log records of it, of its revocation and of a dispute.
//!
//! Like owners, publishers appear in the log only as a salted commitment
//! ([`crate::works::owner_commitment`]), so that a dispute can open it and an erasure can make
//! it unopenable while every proof still verifies.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::fingerprint::{Decision, Evidence, Fingerprints, MatchOutcome};
use crate::licenses::{IntendedUse, ObligationCode};
use crate::works::fingerprint_summary;

pub const MAX_REASON_CHARS: usize = 2000;
pub const MAX_CHANGES_CHARS: usize = 1000;
pub const MAX_MEDIUM_CHARS: usize = 100;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AttributionError {
    #[error("the media matches no registered work; name the work with work_id and set allow_unmatched to declare it anyway")]
    NoMatch,
    #[error("the media does not match work {work_id}; set allow_unmatched to declare the use anyway, and the entry will say so")]
    NotMatching { work_id: i64 },
    #[error("the published URL must be an http or https URL of at most {max} characters: {url:?}")]
    InvalidPublishedUrl { url: String, max: usize },
    #[error("the field {field:?} is longer than {max} characters")]
    FieldTooLong { field: &'static str, max: usize },
    #[error("the field {0:?} is required")]
    MissingField(&'static str),
    #[error("attribution {id} was already revoked")]
    AlreadyRevoked { id: i64 },
    #[error("attribution {id} is already disputed")]
    AlreadyDisputed { id: i64 },
}

/// How the service learnt the media's fingerprints. With `Fingerprints` the publisher kept the
/// file and sent only what `provenance fingerprint` printed, so the log cannot vouch that the
/// fingerprints are of a real file; the entry says which it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaSource {
    Upload,
    Fingerprints,
}

/// Why the service holds the media to be the work, as the log records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchSummary {
    pub decision: Decision,
    /// `exact_bytes`, `pdq`, `phash`, `local_features` (keypoints a transform explains) or
    /// `local_appearance` (no keypoints: the two pictures' coarse grids were aligned); absent
    /// when the media matched nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// The deciding perceptual hash's Hamming distance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance: Option<u32>,
    /// When keypoints decided (`local_features`): how many of them a geometric transform
    /// explains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inliers: Option<u32>,
    /// The publisher declared the work although the media does not match it.
    pub declared_without_match: bool,
}

/// Picks the work the media is attributed to and summarises the evidence: the work the
/// publisher named, or else the best match. A match or a possible match is enough; a work the
/// media does not match needs `allow_unmatched`.
pub fn choose_work(
    outcome: &MatchOutcome,
    declared: Option<i64>,
    allow_unmatched: bool,
) -> Result<(i64, MatchSummary), AttributionError> {
    let candidate = match declared {
        Some(id) => outcome.candidates.iter().find(|c| c.work_id == id),
        None => outcome.candidates.first(),
    }
    .filter(|c| c.decision != Decision::None);
    match (candidate, declared) {
        (Some(c), _) => {
            let (evidence, distance, inliers) = match c.evidence {
                Evidence::ExactBytes => ("exact_bytes", None, None),
                Evidence::Pdq { distance, .. } => ("pdq", Some(distance), None),
                Evidence::Phash { distance, .. } => ("phash", Some(distance), None),
                // An aligned match has no inliers to count; recording 0 would read as a match
                // that nothing supports.
                Evidence::LocalFeatures(local) if local.aligned_by_appearance => {
                    ("local_appearance", None, None)
                }
                Evidence::LocalFeatures(local) => ("local_features", None, Some(local.inliers)),
            };
            Ok((
                c.work_id,
                MatchSummary {
                    decision: c.decision,
                    evidence: Some(evidence.to_owned()),
                    distance,
                    inliers,
                    declared_without_match: false,
                },
            ))
        }
        (None, Some(id)) if allow_unmatched => Ok((
            id,
            MatchSummary {
                decision: Decision::None,
                evidence: None,
                distance: None,
                inliers: None,
                declared_without_match: true,
            },
        )),
        (None, Some(id)) => Err(AttributionError::NotMatching { work_id: id }),
        (None, None) => Err(AttributionError::NoMatch),
    }
}

/// Trims optional text and checks its length.
pub fn optional_text(
    value: Option<String>,
    field: &'static str,
    max: usize,
) -> Result<Option<String>, AttributionError> {
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    if value.as_ref().is_some_and(|v| v.chars().count() > max) {
        return Err(AttributionError::FieldTooLong { field, max });
    }
    Ok(value)
}

/// An http(s) URL without white space, at most [`crate::works::MAX_URL_CHARS`] long.
pub fn published_url(value: Option<String>) -> Result<Option<String>, AttributionError> {
    let max = crate::works::MAX_URL_CHARS;
    let Some(url) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let well_formed = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() > "https://".len()
        && !url.chars().any(char::is_whitespace)
        && url.chars().count() <= max;
    if !well_formed {
        return Err(AttributionError::InvalidPublishedUrl { url, max });
    }
    Ok(Some(url))
}

/// Everything an `attribution_recorded` entry states.
#[derive(Debug, Clone)]
pub struct RecordedAttribution<'a> {
    pub work_id: i64,
    pub work_sha256: &'a str,
    pub license_id: &'a str,
    pub contract_hash: &'a str,
    pub media: &'a Fingerprints,
    pub media_source: MediaSource,
    pub matched: &'a MatchSummary,
    pub intended_use: &'a IntendedUse,
    pub obligations: &'a [ObligationCode],
    pub credit: &'a str,
    pub published_url: Option<&'a str>,
    pub publisher_commitment: &'a str,
}

/// The `data` of an `attribution_recorded` entry (documented in `docs/ledger.md`).
pub fn recorded_entry(record: &RecordedAttribution<'_>) -> Value {
    let mut media = fingerprint_summary(record.media);
    media
        .as_object_mut()
        .expect("an object")
        .insert("source".into(), json!(record.media_source));
    let mut data = json!({
        "work_id": record.work_id,
        "work_sha256": record.work_sha256,
        "license": record.license_id,
        "license_contracts": record.contract_hash,
        "media": media,
        "match": record.matched,
        "use": record.intended_use,
        "obligations": record.obligations,
        "attribution": record.credit,
        "publisher": record.publisher_commitment,
    });
    if let Some(url) = record.published_url {
        data.as_object_mut()
            .expect("an object")
            .insert("published_url".into(), json!(url));
    }
    data
}

/// The `data` of an `attribution_revoked` entry.
pub fn revoked_entry(
    attribution_id: i64,
    publisher_commitment: &str,
    reason: Option<&str>,
) -> Value {
    let mut data = json!({
        "attribution_id": attribution_id,
        "publisher": publisher_commitment,
    });
    if let Some(reason) = reason {
        data.as_object_mut()
            .expect("an object")
            .insert("reason".into(), json!(reason));
    }
    data
}

/// The `data` of an `attribution_disputed` entry.
pub fn disputed_entry(
    attribution_id: i64,
    work_id: i64,
    owner_commitment: &str,
    reason: &str,
) -> Value {
    json!({
        "attribution_id": attribution_id,
        "work_id": work_id,
        "owner": owner_commitment,
        "reason": reason,
    })
}

/// Where an attribution stands after the entries about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributionState {
    Active,
    /// Withdrawn by its publisher; final.
    Revoked,
    /// Contested by the work's rights holder; the publisher can still revoke it.
    Disputed,
}

impl AttributionState {
    pub fn as_str(self) -> &'static str {
        match self {
            AttributionState::Active => "active",
            AttributionState::Revoked => "revoked",
            AttributionState::Disputed => "disputed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "active" => Some(AttributionState::Active),
            "revoked" => Some(AttributionState::Revoked),
            "disputed" => Some(AttributionState::Disputed),
            _ => None,
        }
    }
}

/// A change of an attribution's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributionChange {
    Revoke,
    Dispute,
}

impl AttributionChange {
    /// The state after the change, or why the change cannot apply.
    pub fn apply(
        self,
        id: i64,
        state: AttributionState,
    ) -> Result<AttributionState, AttributionError> {
        match (self, state) {
            (_, AttributionState::Revoked) => Err(AttributionError::AlreadyRevoked { id }),
            (AttributionChange::Revoke, _) => Ok(AttributionState::Revoked),
            (AttributionChange::Dispute, AttributionState::Disputed) => {
                Err(AttributionError::AlreadyDisputed { id })
            }
            (AttributionChange::Dispute, AttributionState::Active) => {
                Ok(AttributionState::Disputed)
            }
        }
    }
}

/// Whether `file`'s fingerprints are the media an attribution recorded: the same algorithm
/// and the same bytes. Perceptual closeness is not enough to say "this is the file".
pub fn media_matches_record(file: &Fingerprints, recorded_media: &Value) -> Result<(), String> {
    let recorded_algorithm = recorded_media["algorithm"].as_str().unwrap_or_default();
    if recorded_algorithm != file.algorithm {
        return Err(format!(
            "the entry was fingerprinted with {recorded_algorithm:?}; this verifier computes {:?}",
            file.algorithm
        ));
    }
    let recorded_sha256 = recorded_media["sha256"].as_str().unwrap_or_default();
    if recorded_sha256 != file.sha256.to_string() {
        return Err(format!(
            "the file's SHA-256 is {}, the entry recorded {recorded_sha256}",
            file.sha256
        ));
    }
    for field in ["pdq", "phash"] {
        let ours = serde_json::to_value(file)
            .map(|v| v[field].clone())
            .unwrap_or_default();
        if ours != recorded_media[field] {
            return Err(format!(
                "the file's {field} is {ours}, the entry recorded {}",
                recorded_media[field]
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::local::LocalEvidence;
    use crate::fingerprint::{Candidate, Dihedral};

    fn candidate(work_id: i64, decision: Decision, evidence: Evidence) -> Candidate {
        Candidate {
            work_id,
            decision,
            evidence,
            pdq_distance: None,
            pdq_trusted: true,
            phash_distance: None,
            local_inliers: None,
        }
    }

    fn outcome(candidates: Vec<Candidate>) -> MatchOutcome {
        MatchOutcome {
            decision: candidates.first().map_or(Decision::None, |c| c.decision),
            decided_by: candidates.first().map(|c| c.evidence),
            candidates,
        }
    }

    #[test]
    fn the_best_match_is_taken_unless_a_work_is_named() {
        let found = outcome(vec![
            candidate(7, Decision::Match, Evidence::ExactBytes),
            candidate(
                9,
                Decision::Possible,
                Evidence::Pdq {
                    distance: 44,
                    orientation: Dihedral::Original,
                },
            ),
        ]);
        let (id, summary) = choose_work(&found, None, false).unwrap();
        assert_eq!((id, summary.evidence.as_deref()), (7, Some("exact_bytes")));
        let (id, summary) = choose_work(&found, Some(9), false).unwrap();
        assert_eq!(id, 9);
        assert_eq!(summary.decision, Decision::Possible);
        assert_eq!(summary.distance, Some(44));
        assert!(!summary.declared_without_match);
    }

    #[test]
    fn the_summary_says_whether_keypoints_or_an_alignment_decided_a_partial_copy() {
        let local = |inliers, aligned_by_appearance| LocalEvidence {
            inliers,
            correspondences: 40,
            scale: 1.2,
            rotation_degrees: 0.0,
            translation: [0.1, 0.0],
            work_region: [0.1, 0.1, 0.9, 0.9],
            appearance_correlation: Some(0.99),
            decided_by_appearance: false,
            aligned_by_appearance,
            chroma_residual: aligned_by_appearance.then_some(3.0),
        };
        let by_keypoints = outcome(vec![candidate(
            4,
            Decision::Match,
            Evidence::LocalFeatures(local(23, false)),
        )]);
        let (_, summary) = choose_work(&by_keypoints, None, false).unwrap();
        assert_eq!(summary.evidence.as_deref(), Some("local_features"));
        assert_eq!(summary.inliers, Some(23));
        let aligned = outcome(vec![candidate(
            4,
            Decision::Match,
            Evidence::LocalFeatures(local(0, true)),
        )]);
        let (_, summary) = choose_work(&aligned, None, false).unwrap();
        assert_eq!(summary.evidence.as_deref(), Some("local_appearance"));
        assert_eq!(summary.inliers, None);
    }

    #[test]
    fn an_unmatched_work_needs_the_explicit_flag_and_is_marked() {
        let nothing = outcome(vec![]);
        assert_eq!(
            choose_work(&nothing, None, true),
            Err(AttributionError::NoMatch)
        );
        assert_eq!(
            choose_work(&nothing, Some(3), false),
            Err(AttributionError::NotMatching { work_id: 3 })
        );
        let (id, summary) = choose_work(&nothing, Some(3), true).unwrap();
        assert_eq!(id, 3);
        assert!(summary.declared_without_match);
        assert_eq!(summary.decision, Decision::None);
    }

    #[test]
    fn states_change_only_forwards() {
        use AttributionChange::*;
        use AttributionState::*;
        assert_eq!(Dispute.apply(1, Active), Ok(Disputed));
        assert_eq!(Revoke.apply(1, Disputed), Ok(Revoked));
        assert_eq!(
            Dispute.apply(1, Disputed),
            Err(AttributionError::AlreadyDisputed { id: 1 })
        );
        assert_eq!(
            Revoke.apply(1, Revoked),
            Err(AttributionError::AlreadyRevoked { id: 1 })
        );
        assert_eq!(
            Dispute.apply(1, Revoked),
            Err(AttributionError::AlreadyRevoked { id: 1 })
        );
    }

    #[test]
    fn published_urls_are_checked() {
        assert_eq!(published_url(Some(" ".into())), Ok(None));
        assert_eq!(
            published_url(Some(" https://example.org/a ".into())),
            Ok(Some("https://example.org/a".into()))
        );
        for bad in ["ftp://x", "https://", "https://a b", "javascript:alert(1)"] {
            assert!(published_url(Some(bad.into())).is_err(), "{bad}");
        }
    }
}
