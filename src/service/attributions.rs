//! Recording attributions, revoking and disputing them, finding them again, and opening or
//! erasing the publisher commitments they carry.

use serde::{Deserialize, Serialize};

use super::sequencer::Record;
use super::{require_role, Appended, Service, ServiceError, Signing, Written};
use crate::accounts::Role;
use crate::attributions::{
    self, AttributionChange, AttributionError, AttributionState, MatchSummary, MediaSource,
    RecordedAttribution,
};
use crate::fingerprint::{Decision, Fingerprints, MatchIndex, ALGORITHM_VERSION};
use crate::ledger::EntryKind;
use crate::licenses::{self, AiPreferences, Attribution, IntendedUse, Obligation, WorkCredit};
use crate::store::{Account, AttributionFilter, StoredAttribution};
use crate::works;

/// The media an attribution is for.
#[derive(Debug, Clone)]
pub enum Media {
    /// The file itself; the service fingerprints it.
    Upload(Vec<u8>),
    /// Fingerprints the publisher computed (`provenance fingerprint`) of a file they keep.
    Fingerprints(Box<Fingerprints>),
}

/// What a publisher asks to record.
#[derive(Debug, Clone)]
pub struct AttributionRequest {
    pub media: Media,
    /// The work used; `None` takes the best match.
    pub work_id: Option<i64>,
    pub intended_use: IntendedUse,
    /// What was changed, for an adaptation.
    pub changes: Option<String>,
    pub published_url: Option<String>,
    /// Declare the work although the media does not match it.
    pub allow_unmatched: bool,
}

/// What the API shows of an attribution, stored as JSON beside the indexed columns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttributionDetails {
    pub work_id: i64,
    pub work_title: String,
    pub license: String,
    pub license_contracts: String,
    #[serde(rename = "use")]
    pub intended_use: IntendedUse,
    #[serde(rename = "match")]
    pub matched: MatchSummary,
    pub media: serde_json::Value,
    pub obligations: Vec<Obligation>,
    pub attribution: Attribution,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_url: Option<String>,
    /// The publisher's commitment, as the log names them.
    pub publisher: String,
    /// Unix seconds.
    pub recorded_at: i64,
}

/// One entry of an attribution's history.
#[derive(Debug, Clone, Serialize)]
pub struct AttributionEvent {
    pub index: i64,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AttributionView {
    pub id: i64,
    pub state: AttributionState,
    #[serde(flatten)]
    pub details: AttributionDetails,
    /// Every entry about the attribution, oldest first.
    pub history: Vec<AttributionEvent>,
}

/// An attribution recorded or changed, with the receipt of the entry that did it.
#[derive(Debug, Clone)]
pub struct AttributionRecorded {
    pub attribution: AttributionView,
    pub appended: Appended,
}

/// A publisher commitment opened for the parties of a dispute.
#[derive(Debug, Clone, Serialize)]
pub struct Disclosure {
    pub attribution_id: i64,
    pub commitment: String,
    pub publisher: String,
    /// Hex; SHA-256(salt || publisher) is the commitment.
    pub salt: String,
}

const MAX_LOOKUP: i64 = 500;

impl Service {
    /// Checks the match and the licence, composes the credit, and records the attribution.
    pub async fn record_attribution(
        &self,
        account: &Account,
        request: AttributionRequest,
        signing: Signing,
    ) -> Result<Written<AttributionRecorded>, ServiceError> {
        require_role(account, Role::Publisher)?;
        let changes = attributions::optional_text(
            request.changes,
            "changes",
            attributions::MAX_CHANGES_CHARS,
        )?;
        let published_url = attributions::published_url(request.published_url)?;
        let mut intended_use = request.intended_use;
        intended_use.medium = attributions::optional_text(
            intended_use.medium,
            "medium",
            attributions::MAX_MEDIUM_CHARS,
        )?;
        // An upload is matched by both stages; fingerprints alone, by the global stage only
        // (local features need the pixels).
        let (fingerprints, outcome, source) = match request.media {
            Media::Upload(bytes) => {
                let matches = self.match_upload(bytes).await?;
                (matches.fingerprints, matches.outcome, MediaSource::Upload)
            }
            Media::Fingerprints(fp) => {
                if fp.algorithm != ALGORITHM_VERSION {
                    return Err(ServiceError::FingerprintVersion {
                        found: fp.algorithm.clone(),
                        expected: ALGORITHM_VERSION.to_owned(),
                    });
                }
                let outcome = self.registry.query(&fp);
                (*fp, outcome, MediaSource::Fingerprints)
            }
        };
        let (work_id, matched) =
            attributions::choose_work(&outcome, request.work_id, request.allow_unmatched)?;
        let work = self
            .blocking(move |store| Ok(store.work(work_id)?))
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("work {work_id}")))?;
        let preferences = work
            .metadata
            .content_usage
            .as_deref()
            .map(AiPreferences::from_header_or_none);
        let license_id = work.metadata.license_id.clone();
        let verdict = licenses::evaluate(
            &self.licenses,
            &license_id,
            &intended_use,
            preferences.as_ref(),
        )?;
        if !verdict.allowed {
            return Err(ServiceError::UseNotAllowed(Box::new(verdict)));
        }
        let adapted = matches!(
            intended_use.adaptation,
            licenses::Adaptation::Adapted { .. }
        );
        let credit = licenses::attribution(
            &self.licenses,
            &WorkCredit {
                title: work.metadata.title.clone(),
                creator: work.metadata.creator.clone(),
                source_url: work.metadata.source_url.clone(),
                license_id: license_id.clone(),
            },
            adapted.then(|| changes.as_deref().unwrap_or_default()),
        )?;
        let salt = signing.salt()?;
        let commitment = works::owner_commitment(&salt, &account.name);
        let work_sha256 = hex::encode(&work.sha256);
        let obligation_codes: Vec<_> = verdict.obligations.iter().map(|o| o.code).collect();
        let data = attributions::recorded_entry(&RecordedAttribution {
            work_id,
            work_sha256: &work_sha256,
            license_id: &verdict.license,
            contract_hash: &verdict.contract_hash,
            media: &fingerprints,
            media_source: source,
            matched: &matched,
            intended_use: &intended_use,
            obligations: &obligation_codes,
            credit: &credit.text,
            published_url: published_url.as_deref(),
            publisher_commitment: &commitment,
        });
        let details = AttributionDetails {
            work_id,
            work_title: work.metadata.title.clone(),
            license: verdict.license.clone(),
            license_contracts: verdict.contract_hash.clone(),
            intended_use,
            matched,
            media: data["media"].clone(),
            obligations: verdict.obligations,
            attribution: credit,
            published_url: published_url.clone(),
            publisher: commitment,
            recorded_at: crate::store::unix_now(),
        };
        let row = StoredAttribution {
            attribution_id: 0,
            work_id,
            publisher_id: account.id,
            publisher_salt: Some(salt.to_vec()),
            media_sha256: fingerprints.sha256.0.to_vec(),
            media_fingerprints: to_json(&fingerprints)?,
            published_url,
            state: AttributionState::Active.as_str().to_owned(),
            details: to_json(&details)?,
            recorded_at: details.recorded_at,
            updated_by_entry: 0,
        };
        let written = self
            .append_authored(
                EntryKind::AttributionRecorded,
                data,
                Record::Attribution(Box::new(row)),
                account,
                &signing,
                Some(&salt),
            )
            .await?;
        // The attribution's id is its entry's index.
        self.recorded(written, None).await
    }

    /// Revokes (by its publisher) or disputes (by the work's rights holder) an attribution.
    pub async fn change_attribution(
        &self,
        account: &Account,
        id: i64,
        change: AttributionChange,
        reason: Option<String>,
        signing: Signing,
    ) -> Result<Written<AttributionRecorded>, ServiceError> {
        let reason = attributions::optional_text(reason, "reason", attributions::MAX_REASON_CHARS)?;
        let stored = self.stored_attribution(id).await?;
        let state = AttributionState::parse(&stored.state).unwrap_or(AttributionState::Active);
        // Refuse early what is sure to be refused; the sequencer checks again under the lock.
        change.apply(id, state)?;
        let details: AttributionDetails = from_json(&stored.details)?;
        let (kind, data) = match change {
            AttributionChange::Revoke => {
                require_role(account, Role::Publisher)?;
                if stored.publisher_id != account.id {
                    return Err(ServiceError::NotPublisher { attribution_id: id });
                }
                (
                    EntryKind::AttributionRevoked,
                    attributions::revoked_entry(id, &details.publisher, reason.as_deref()),
                )
            }
            AttributionChange::Dispute => {
                require_role(account, Role::RightsHolder)?;
                let reason = reason
                    .clone()
                    .ok_or(AttributionError::MissingField("reason"))?;
                let work = self.owned_work(account, stored.work_id).await?;
                let owner = works::owner_commitment(&work.owner_salt, &account.name);
                (
                    EntryKind::AttributionDisputed,
                    attributions::disputed_entry(id, stored.work_id, &owner, &reason),
                )
            }
        };
        let record = Record::AttributionChange {
            attribution_id: id,
            change,
            reason,
        };
        let written = self
            .append_authored(kind, data, record, account, &signing, None)
            .await?;
        self.recorded(written, Some(id)).await
    }

    /// The answer to a write: the prepared note, or the attribution `id` as it now stands.
    async fn recorded(
        &self,
        written: Written<Appended>,
        id: Option<i64>,
    ) -> Result<Written<AttributionRecorded>, ServiceError> {
        match written {
            Written::Prepared(prepared) => Ok(Written::Prepared(prepared)),
            Written::Recorded(appended) => Ok(Written::Recorded(AttributionRecorded {
                attribution: self
                    .attribution(id.unwrap_or(appended.index as i64))
                    .await?,
                appended,
            })),
        }
    }

    async fn stored_attribution(&self, id: i64) -> Result<StoredAttribution, ServiceError> {
        self.blocking(move |store| Ok(store.attribution(id)?))
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("attribution {id}")))
    }

    pub async fn attribution(&self, id: i64) -> Result<AttributionView, ServiceError> {
        self.blocking(move |store| {
            let stored = store
                .attribution(id)?
                .ok_or_else(|| ServiceError::NotFound(format!("attribution {id}")))?;
            Ok(views(store, vec![stored])?.remove(0))
        })
        .await
    }

    pub async fn list_attributions(
        &self,
        filter: AttributionFilter,
    ) -> Result<Vec<AttributionView>, ServiceError> {
        self.blocking(move |store| views(store, store.list_attributions(&filter)?))
            .await
    }

    /// Attributions of a work, which must exist.
    pub async fn work_attributions(
        &self,
        work_id: i64,
        limit: i64,
    ) -> Result<Vec<AttributionView>, ServiceError> {
        self.work(work_id).await?;
        self.list_attributions(AttributionFilter {
            work_id: Some(work_id),
            limit,
            ..AttributionFilter::default()
        })
        .await
    }

    /// "Was this attributed?": the attributions whose recorded media is this image — the same
    /// bytes, or a copy the matcher takes for the same picture.
    pub async fn attributions_of_image(
        &self,
        image: Vec<u8>,
    ) -> Result<Vec<AttributionView>, ServiceError> {
        let query = self.fingerprint(image).await?;
        // Copies of the media are copies of the work it matched, so only the attributions of
        // the works the image matches need comparing.
        let works: Vec<i64> = self
            .registry
            .query(&query)
            .candidates
            .iter()
            .filter(|c| c.decision != Decision::None)
            .map(|c| c.work_id)
            .collect();
        let sha256 = query.sha256.0.to_vec();
        let candidates = self
            .blocking(move |store| {
                let mut rows = store.list_attributions(&AttributionFilter {
                    media_sha256: Some(sha256),
                    limit: MAX_LOOKUP,
                    ..AttributionFilter::default()
                })?;
                for work_id in works {
                    rows.extend(store.list_attributions(&AttributionFilter {
                        work_id: Some(work_id),
                        limit: MAX_LOOKUP,
                        ..AttributionFilter::default()
                    })?);
                }
                Ok(rows)
            })
            .await?;
        let mut index = MatchIndex::new();
        let mut seen = std::collections::BTreeMap::new();
        for row in candidates {
            if seen.contains_key(&row.attribution_id) {
                continue;
            }
            let media: Fingerprints = from_json(&row.media_fingerprints)?;
            index.insert(row.attribution_id, &media);
            seen.insert(row.attribution_id, row);
        }
        let matching: Vec<i64> = index
            .query(&query)
            .candidates
            .iter()
            .filter(|c| c.decision == Decision::Match)
            .map(|c| c.work_id)
            .collect();
        let found: Vec<StoredAttribution> = matching
            .into_iter()
            .filter_map(|id| seen.remove(&id))
            .collect();
        self.blocking(move |store| views(store, found)).await
    }

    /// Opens an attribution's publisher commitment, for an operator handling a dispute.
    pub async fn disclose_publisher(
        &self,
        account: &Account,
        id: i64,
    ) -> Result<Disclosure, ServiceError> {
        require_role(account, Role::Operator)?;
        let stored = self.stored_attribution(id).await?;
        let salt = stored.publisher_salt.clone().ok_or(ServiceError::Erased)?;
        let publisher_id = stored.publisher_id;
        let publisher = self
            .blocking(move |store| Ok(store.publisher_name(publisher_id)?))
            .await?
            .ok_or(ServiceError::Erased)?;
        let details: AttributionDetails = from_json(&stored.details)?;
        Ok(Disclosure {
            attribution_id: id,
            commitment: details.publisher,
            publisher,
            salt: hex::encode(salt),
        })
    }

    /// Erases a publisher's personal data (see [`crate::store::Store::erase_publisher`]);
    /// answers how many commitments can no longer be opened.
    pub async fn erase_publisher(
        &self,
        account: &Account,
        name: String,
    ) -> Result<usize, ServiceError> {
        require_role(account, Role::Operator)?;
        let shown = name.clone();
        let erased = self
            .blocking(move |store| Ok(store.erase_publisher(&name)?))
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("account {shown:?}")))?;
        // Cached tokens of the erased account stop working within the cache's lifetime.
        self.tokens.clear();
        Ok(erased)
    }
}

/// Views of `rows`, their histories read in one query.
fn views(
    store: &crate::store::Store,
    rows: Vec<StoredAttribution>,
) -> Result<Vec<AttributionView>, ServiceError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.attribution_id).collect();
    let mut histories = store.attribution_histories(&ids)?;
    rows.into_iter()
        .map(|row| {
            let history = histories.remove(&row.attribution_id).unwrap_or_default();
            view(row, history)
        })
        .collect()
}

fn view(
    stored: StoredAttribution,
    history: Vec<crate::store::AttributionEventRow>,
) -> Result<AttributionView, ServiceError> {
    Ok(AttributionView {
        id: stored.attribution_id,
        state: AttributionState::parse(&stored.state).ok_or_else(|| {
            crate::store::StoreError::Corrupt(format!(
                "attribution {} has unknown state {:?}",
                stored.attribution_id, stored.state
            ))
        })?,
        details: from_json(&stored.details)?,
        history: history
            .into_iter()
            .map(|e| AttributionEvent {
                index: e.entry_index,
                kind: e.kind,
                reason: e.reason,
            })
            .collect(),
    })
}

fn to_json<T: Serialize>(value: &T) -> Result<String, ServiceError> {
    serde_json::to_string(value).map_err(|e| ServiceError::Task(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ServiceError> {
    serde_json::from_str(text)
        .map_err(|e| crate::store::StoreError::Corrupt(format!("stored JSON: {e}")).into())
}
