//! The works registry and image checks: registering a work, changing its licence or AI
//! preferences, finding registered works in an image.

use std::sync::Weak;

use serde::Serialize;

use super::registry::{Registry, POLL_INTERVAL};
use super::sequencer::{NewWork, Record};
use super::{require_role, Appended, Service, ServiceError, Signing, Written};
use crate::accounts::Role;
use crate::fingerprint::{self, Fingerprints, MatchOutcome};
use crate::ledger::EntryKind;
use crate::licenses::AiPreferences;
use crate::store::{Account, Store, StoredWork, Thumbnail, WorkFilter};
use crate::works::{self, WorkChange, WorkError, WorkMetadata};

/// A registered work as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct WorkView {
    pub id: i64,
    pub title: String,
    pub creator: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    pub license: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// AI usage preferences as a `Content-Usage` header value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ai_preferences: Option<String>,
    /// The owning account's name.
    pub owner: String,
    pub sha256: String,
    pub fingerprints: serde_json::Value,
    /// Unix seconds.
    pub registered_at: i64,
    /// The log index of the latest entry that set the licence or the preferences.
    pub current_entry: i64,
}

impl From<&StoredWork> for WorkView {
    fn from(work: &StoredWork) -> Self {
        let fingerprints = serde_json::from_str::<Fingerprints>(&work.fingerprints)
            .map(|fp| works::fingerprint_summary(&fp))
            .unwrap_or(serde_json::Value::Null);
        let m = &work.metadata;
        WorkView {
            id: work.work_id,
            title: m.title.clone(),
            creator: m.creator.clone(),
            source_url: m.source_url.clone(),
            license: m.license_id.clone(),
            external_id: m.external_id.clone(),
            ai_preferences: m.content_usage.clone(),
            owner: work.owner_name.clone(),
            sha256: hex::encode(&work.sha256),
            fingerprints,
            registered_at: work.registered_at,
            current_entry: work.updated_by_entry,
        }
    }
}

/// One entry of a work's history.
#[derive(Debug, Clone, Serialize)]
pub struct WorkEvent {
    pub index: i64,
    pub kind: String,
}

/// A work registered or changed, with the receipt of the entry that recorded it.
#[derive(Debug, Clone)]
pub struct WorkRecorded {
    pub work: WorkView,
    pub appended: Appended,
}

/// What an image check found: the image's fingerprints and the registered works near it.
#[derive(Debug, Clone, Serialize)]
pub struct CheckAnswer {
    pub fingerprints: Fingerprints,
    #[serde(flatten)]
    pub outcome: MatchOutcome,
    /// Whether the local-feature stage ran: it does unless the global stage already decided a
    /// match (docs/matching.md).
    pub local_stage: bool,
    /// The candidates' works, in the order of `candidates`.
    pub works: Vec<WorkView>,
}

/// An upload's fingerprints and its matches over both stages.
#[derive(Debug, Clone)]
pub(super) struct UploadMatches {
    pub fingerprints: Fingerprints,
    pub outcome: MatchOutcome,
    pub local_stage: bool,
}

/// Reads registrations committed by other nodes until the registry is dropped.
pub(super) async fn poll_registrations(store: Store, registry: Weak<Registry>) {
    let mut ticks = tokio::time::interval(POLL_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(live) = registry.upgrade() else {
            return;
        };
        let store = store.clone();
        match tokio::task::spawn_blocking(move || live.catch_up(|after| store.works_after(after)))
            .await
        {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "reading new registrations failed"),
            Err(e) => tracing::warn!(error = %e, "reading new registrations failed"),
        }
    }
}

impl Service {
    /// Decodes and fingerprints an image off the async workers.
    pub async fn fingerprint(&self, image: Vec<u8>) -> Result<Fingerprints, ServiceError> {
        let limits = self.settings.decode_limits.clone();
        tokio::task::spawn_blocking(move || fingerprint::fingerprint(&image, &limits))
            .await
            .map_err(|e| ServiceError::Task(e.to_string()))?
            .map_err(Into::into)
    }

    /// Decodes an image once for everything a registration keeps.
    async fn analyse_for_registration(
        &self,
        image: Vec<u8>,
    ) -> Result<fingerprint::Registration, ServiceError> {
        let limits = self.settings.decode_limits.clone();
        tokio::task::spawn_blocking(move || {
            fingerprint::analyse_for_registration(
                &image,
                &limits,
                fingerprint::thumbnail::THUMBNAIL_MAX_SIDE,
            )
        })
        .await
        .map_err(|e| ServiceError::Task(e.to_string()))?
        .map_err(Into::into)
    }

    /// Fingerprints an upload and matches it over both stages ([`Registry::match_upload`]).
    pub(super) async fn match_upload(&self, image: Vec<u8>) -> Result<UploadMatches, ServiceError> {
        let limits = self.settings.decode_limits.clone();
        let registry = self.registry.clone();
        self.blocking(move |store| {
            let (fingerprints, working) = fingerprint::fingerprint_keeping_image(&image, &limits)?;
            let (outcome, local_stage) = registry.match_upload(&fingerprints, &working, store)?;
            Ok(UploadMatches {
                fingerprints,
                outcome,
                local_stage,
            })
        })
        .await
    }

    /// Finds registered works in an image.
    pub async fn check(&self, image: Vec<u8>) -> Result<CheckAnswer, ServiceError> {
        let UploadMatches {
            fingerprints,
            outcome,
            local_stage,
        } = self.match_upload(image).await?;
        let ids: Vec<i64> = outcome.candidates.iter().map(|c| c.work_id).collect();
        let works = self
            .blocking(move |store| {
                ids.iter()
                    .map(|&id| {
                        store.work(id)?.ok_or_else(|| {
                            ServiceError::NotFound(format!("work {id} (indexed but not stored)"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
        Ok(CheckAnswer {
            fingerprints,
            outcome,
            local_stage,
            works: works.iter().map(WorkView::from).collect(),
        })
    }

    /// Registers a work for `account` and answers once its entry is durable.
    pub async fn register_work(
        &self,
        account: &Account,
        metadata: WorkMetadata,
        image: Vec<u8>,
        signing: Signing,
    ) -> Result<Written<WorkRecorded>, ServiceError> {
        require_role(account, Role::RightsHolder)?;
        let metadata = self.checked_metadata(metadata)?;
        let fingerprint::Registration {
            fingerprints,
            local,
            local_as_upload: query_local,
            thumbnail: preview,
        } = self.analyse_for_registration(image).await?;
        // Refuse early what is sure to be refused, over both stages; the sequencer checks the
        // global stage again under the lock.
        let registry = self.registry.clone();
        let query = fingerprints.clone();
        let outcome = self
            .blocking(move |store| {
                Ok(registry.with_local_stage(registry.query(&query), &query_local, store)?)
            })
            .await?;
        self.registry
            .admit_outcome(&outcome, account.id)
            .map_err(ServiceError::WorkConflict)?;
        let salt = signing.salt()?;
        let commitment = works::owner_commitment(&salt, &account.name);
        let data = works::registered_entry(
            &metadata,
            &fingerprints,
            &commitment,
            self.licenses.content_hash(),
        );
        let row = StoredWork {
            work_id: 0,
            owner_id: account.id,
            owner_name: account.name.clone(),
            owner_salt: salt.to_vec(),
            metadata,
            sha256: fingerprints.sha256.0.to_vec(),
            fingerprints: serde_json::to_string(&fingerprints)
                .map_err(|e| ServiceError::Task(e.to_string()))?,
            registered_at: crate::store::unix_now(),
            updated_by_entry: 0,
        };
        let record = Record::Work(Box::new(NewWork {
            row: row.clone(),
            fingerprints,
            local,
        }));
        let appended = match self
            .append_authored(
                EntryKind::WorkRegistered,
                data,
                record,
                account,
                &signing,
                Some(&salt),
            )
            .await?
        {
            Written::Prepared(prepared) => return Ok(Written::Prepared(prepared)),
            Written::Recorded(appended) => appended,
        };
        let work = WorkView::from(&StoredWork {
            work_id: appended.index as i64,
            updated_by_entry: appended.index as i64,
            ..row
        });
        // After the commit, outside the round: the work stands whether or not this succeeds.
        let work_id = work.id;
        let thumbnail = Thumbnail {
            content_type: fingerprint::thumbnail::THUMBNAIL_CONTENT_TYPE.to_owned(),
            image: preview,
        };
        if let Err(error) = self
            .blocking(move |store| Ok(store.put_thumbnail(work_id, &thumbnail)?))
            .await
        {
            tracing::warn!(work_id, %error, "storing the thumbnail failed");
        }
        Ok(Written::Recorded(WorkRecorded { work, appended }))
    }

    /// Records a new licence or new AI preferences for one of `account`'s works.
    pub async fn change_work(
        &self,
        account: &Account,
        work_id: i64,
        change: WorkChange,
        signing: Signing,
    ) -> Result<Written<WorkRecorded>, ServiceError> {
        require_role(account, Role::RightsHolder)?;
        let change = match change {
            WorkChange::License { license_id } => {
                let license_id = license_id.trim().to_owned();
                self.known_license(&license_id)?;
                WorkChange::License { license_id }
            }
            WorkChange::Preferences { content_usage } => {
                let content_usage = content_usage
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty());
                if let Some(value) = &content_usage {
                    AiPreferences::parse_header(value)?;
                }
                WorkChange::Preferences { content_usage }
            }
        };
        let work = self.owned_work(account, work_id).await?;
        let (kind, data) = {
            let commitment = works::owner_commitment(&work.owner_salt, &account.name);
            let kind = match change {
                WorkChange::License { .. } => EntryKind::WorkLicenseChanged,
                WorkChange::Preferences { .. } => EntryKind::WorkPreferencesChanged,
            };
            let data = works::change_entry(
                work_id as u64,
                &hex::encode(&work.sha256),
                &change,
                &commitment,
                self.licenses.content_hash(),
            );
            (kind, data)
        };
        let record = Record::Change { work_id, change };
        let appended = match self
            .append_authored(kind, data, record, account, &signing, None)
            .await?
        {
            Written::Prepared(prepared) => return Ok(Written::Prepared(prepared)),
            Written::Recorded(appended) => appended,
        };
        let updated = self.work(work_id).await?;
        Ok(Written::Recorded(WorkRecorded {
            work: updated.0,
            appended,
        }))
    }

    pub(super) async fn owned_work(
        &self,
        account: &Account,
        work_id: i64,
    ) -> Result<StoredWork, ServiceError> {
        let work = self
            .blocking(move |store| Ok(store.work(work_id)?))
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("work {work_id}")))?;
        if work.owner_id != account.id {
            return Err(ServiceError::NotOwner { work_id });
        }
        Ok(work)
    }

    /// A work and its history.
    pub async fn work(&self, work_id: i64) -> Result<(WorkView, Vec<WorkEvent>), ServiceError> {
        self.blocking(move |store| {
            let work = store
                .work(work_id)?
                .ok_or_else(|| ServiceError::NotFound(format!("work {work_id}")))?;
            let history = store
                .work_history(work_id)?
                .into_iter()
                .map(|(index, kind)| WorkEvent { index, kind })
                .collect();
            Ok((WorkView::from(&work), history))
        })
        .await
    }

    /// The thumbnail stored for a work at registration.
    pub async fn thumbnail(&self, work_id: i64) -> Result<Thumbnail, ServiceError> {
        self.blocking(move |store| {
            store
                .thumbnail(work_id)?
                .ok_or_else(|| ServiceError::NotFound(format!("a thumbnail for work {work_id}")))
        })
        .await
    }

    pub async fn list_works(&self, filter: WorkFilter) -> Result<Vec<WorkView>, ServiceError> {
        self.blocking(move |store| {
            Ok(store
                .list_works(&filter)?
                .iter()
                .map(WorkView::from)
                .collect())
        })
        .await
    }

    /// Works registered by this node's view of the database (for metrics and health).
    pub fn registered_works(&self) -> usize {
        self.registry.len()
    }

    fn known_license(&self, id: &str) -> Result<(), ServiceError> {
        match self.licenses.get(id) {
            Some(_) => Ok(()),
            None => Err(WorkError::UnknownLicense(id.to_owned()).into()),
        }
    }

    fn checked_metadata(&self, metadata: WorkMetadata) -> Result<WorkMetadata, ServiceError> {
        let metadata = metadata.normalised()?;
        self.known_license(&metadata.license_id)?;
        if let Some(value) = &metadata.content_usage {
            AiPreferences::parse_header(value)?;
        }
        Ok(metadata)
    }
}
