//! The group-commit sequencer: takes everything queued (up to `max_batch`), admits it,
//! integrates it in one round, answers the round's requests once it has committed, and starts
//! over.
//!
//! Rows that belong with an entry (a registered work, a changed licence) are written in the
//! round's own transaction, so an entry and its rows are durable together or not at all.
//! Registrations are admitted here, under the lock on the log's head, because only here is
//! the order of registrations, across nodes too, settled.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::registry::{conflict_in, RegistrationConflict, Registry};
use super::ReadCache;
use crate::attributions::{AttributionChange, AttributionError, AttributionState};
use crate::fingerprint::local::{LocalFeatures, LOCAL_ALGORITHM_VERSION};
use crate::fingerprint::{Fingerprints, MatchIndex};
use crate::ledger::{
    self, Hash, HashReader, LedgerError, LockedLog, LogAppend, LogKey, PendingEntry, TreeHead,
};
use crate::metrics::Metrics;
use crate::store::{LockedDbLog, Store, StoredAttribution, StoredFeatures, StoredWork};
use crate::works::WorkChange;

/// What else a round writes along with an entry.
pub(super) enum Record {
    Nothing,
    /// Registers the work whose id will be the entry's index.
    Work(Box<NewWork>),
    Change {
        work_id: i64,
        change: WorkChange,
    },
    /// Records the attribution whose id will be the entry's index.
    Attribution(Box<StoredAttribution>),
    AttributionChange {
        attribution_id: i64,
        change: AttributionChange,
        reason: Option<String>,
    },
}

pub(super) struct NewWork {
    /// `work_id` is filled in with the entry's index.
    pub row: StoredWork,
    pub fingerprints: Fingerprints,
    /// Stored in the same round, so no node ever sees the work without them.
    pub local: LocalFeatures,
}

pub(super) struct AppendJob {
    pub entry: PendingEntry,
    pub record: Record,
    /// SHA-256 of the note text an account signed: logged once, refused when replayed.
    pub signed_digest: Option<[u8; 32]>,
    pub reply: oneshot::Sender<Result<Sequenced, Refused>>,
}

/// An entry's place in the log, known once its round has committed.
#[derive(Debug, Clone)]
pub(super) struct Sequenced {
    pub index: u64,
    pub audit_path: Vec<Hash>,
    pub checkpoint_note: Arc<str>,
}

#[derive(Debug, Clone)]
pub(super) enum Refused {
    /// The round failed; nothing of it was committed.
    Failed(String),
    Conflict(RegistrationConflict),
    /// The account's signed note was logged before.
    Replayed,
    /// The attribution's state no longer allows the change.
    Attribution(AttributionError),
}

/// Why admission turned a job away; the rest of the round goes on without it.
#[derive(Debug, Clone)]
enum Refusal {
    Conflict(RegistrationConflict),
    Replayed,
    Attribution(AttributionError),
}

pub(super) struct Sequencer {
    pub store: Store,
    pub key: Arc<LogKey>,
    pub max_batch: usize,
    pub metrics: Arc<Metrics>,
    pub cache: Arc<ReadCache>,
    pub registry: Arc<Registry>,
}

/// What a committed round did with each job, in job order.
struct RoundOutcome {
    refusals: Vec<Option<Refusal>>,
    sequenced: Option<ledger::SequencedRound>,
    /// The stored hashes the round wrote.
    new_hashes: Vec<(u64, Hash)>,
}

/// The locked log, read through the cache of stored hashes: a round's audit paths need the
/// older hashes beside the new entries, which earlier rounds and reads have mostly cached.
struct CachedRound<'r, 'c> {
    log: &'r mut LockedDbLog<'c>,
    cache: &'r ReadCache,
    written: Vec<(u64, Hash)>,
}

impl HashReader for CachedRound<'_, '_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        self.cache
            .read_through(indexes, |missing| self.log.read_hashes(missing))
    }
}

impl LockedLog for CachedRound<'_, '_> {
    fn head(&mut self) -> Result<TreeHead, LedgerError> {
        self.log.head()
    }

    fn write(&mut self, append: LogAppend<'_>) -> Result<(), LedgerError> {
        self.written = append.hashes.to_vec();
        self.log.write(append)
    }
}

/// How often the sequencer brings the leaf index up to date, between rounds.
const LEAF_INDEX_INTERVAL: Duration = Duration::from_secs(1);
/// Most entries one leaf-index transaction takes: about a second of appends at full load, so
/// each index page is written about once per batch, and the pause between rounds stays short.
const LEAF_INDEX_BATCH: u64 = 20_000;

pub(super) async fn run(sequencer: Sequencer, mut queue: mpsc::Receiver<AppendJob>) {
    let sequencer = Arc::new(sequencer);
    let mut leaves_indexed = Instant::now();
    while let Some(first) = queue.recv().await {
        if leaves_indexed.elapsed() >= LEAF_INDEX_INTERVAL {
            // Here, between rounds, the index's writes never wait for a round's lock or make
            // one wait (on SQLite such waits are sleeps); entries not yet indexed are scanned
            // by a lookup, so a late index costs a lookup time, never an answer.
            let store = sequencer.store.clone();
            match tokio::task::spawn_blocking(move || store.index_leaves(LEAF_INDEX_BATCH)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "updating the leaf index failed"),
                Err(e) => tracing::warn!(error = %e, "updating the leaf index failed"),
            }
            leaves_indexed = Instant::now();
        }
        let mut jobs = vec![first];
        while jobs.len() < sequencer.max_batch {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let (replies, work): (Vec<_>, Vec<_>) = jobs
            .into_iter()
            .map(|job| (job.reply, (job.entry, job.record, job.signed_digest)))
            .unzip();
        let round = sequencer.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let result = round.store.with_locked_log(|log| round.round(log, &work));
            (result, work)
        })
        .await;
        match outcome {
            Ok((Ok(outcome), work)) => sequencer.answer(outcome, work, replies, started),
            failed => {
                let reason = match failed {
                    Ok((Err(e), _)) => e.to_string(),
                    Err(e) => e.to_string(),
                    Ok((Ok(_), _)) => unreachable!(),
                };
                tracing::error!(%reason, entries = replies.len(), "sequencing round failed; nothing was committed");
                for reply in replies {
                    let _ = reply.send(Err(Refused::Failed(reason.clone())));
                }
            }
        }
    }
}

impl Sequencer {
    /// Runs inside the locked transaction.
    fn round(&self, log: &mut LockedDbLog<'_>, work: &[Job]) -> Result<RoundOutcome, LedgerError> {
        // Take the lock on the log's head before admission reads anything: reads made before
        // it could miss what another node committed while this one waited for the lock (and
        // on SQLite, a transaction that read first cannot take the write lock at all once
        // another connection has committed).
        LockedLog::head(log)?;
        let mut refusals = self.admit_registrations(log, work)?;
        admit_others(log, work, &mut refusals).map_err(|e| LedgerError::Storage(e.to_string()))?;
        let admitted: Vec<PendingEntry> = work
            .iter()
            .zip(&refusals)
            .filter(|(_, refused)| refused.is_none())
            .map(|((entry, _, _), _)| entry.clone())
            .collect();
        if admitted.is_empty() {
            return Ok(RoundOutcome {
                refusals,
                sequenced: None,
                new_hashes: Vec::new(),
            });
        }
        let mut cached = CachedRound {
            log,
            cache: &self.cache,
            written: Vec::new(),
        };
        let round = ledger::sequence_round(&mut cached, &self.key, &admitted)?;
        let new_hashes = std::mem::take(&mut cached.written);
        let admitted_records = work
            .iter()
            .zip(&refusals)
            .filter(|(_, refused)| refused.is_none())
            .map(|((entry, record, digest), _)| (entry, record, digest));
        for (offset, (entry, record, digest)) in admitted_records.enumerate() {
            let index = (round.first_index + offset as u64) as i64;
            if let Some(digest) = digest {
                log.insert_signed_request(digest, index)
                    .map_err(|e| LedgerError::Storage(e.to_string()))?;
            }
            let written = match record {
                Record::Nothing => Ok(()),
                Record::Work(new) => log
                    .insert_work(&StoredWork {
                        work_id: index,
                        ..new.row.clone()
                    })
                    .and_then(|()| {
                        log.insert_work_features(
                            index,
                            &StoredFeatures {
                                algorithm: LOCAL_ALGORITHM_VERSION.to_owned(),
                                bytes: new.local.to_bytes(),
                            },
                        )
                    }),
                Record::Change { work_id, change } => {
                    log.change_work(*work_id, change, index, entry.kind.as_str())
                }
                Record::Attribution(row) => log.insert_attribution(&StoredAttribution {
                    attribution_id: index,
                    updated_by_entry: index,
                    ..(**row).clone()
                }),
                Record::AttributionChange {
                    attribution_id,
                    change,
                    reason,
                } => {
                    let state = match change {
                        AttributionChange::Revoke => AttributionState::Revoked,
                        AttributionChange::Dispute => AttributionState::Disputed,
                    };
                    log.change_attribution(
                        *attribution_id,
                        state.as_str(),
                        index,
                        entry.kind.as_str(),
                        reason.as_deref(),
                    )
                }
            };
            written.map_err(|e| LedgerError::Storage(e.to_string()))?;
        }
        Ok(RoundOutcome {
            refusals,
            sequenced: Some(round),
            new_hashes,
        })
    }

    /// Checks each registration against every work committed so far (reading those other
    /// nodes committed first) and against the registrations earlier in this round.
    fn admit_registrations(
        &self,
        log: &mut LockedDbLog<'_>,
        work: &[Job],
    ) -> Result<Vec<Option<Refusal>>, LedgerError> {
        let mut refusals = vec![None; work.len()];
        if !work.iter().any(|(_, r, _)| matches!(r, Record::Work(_))) {
            return Ok(refusals);
        }
        self.registry
            .catch_up(|after| log.works_after(after))
            .map_err(|e| LedgerError::Storage(e.to_string()))?;
        // Registrations admitted earlier in this round, under their position in the round.
        let mut this_round = MatchIndex::new();
        let mut owners = HashMap::new();
        for (position, (_, record, _)) in work.iter().enumerate() {
            let Record::Work(new) = record else { continue };
            let owner = new.row.owner_id;
            let verdict = self
                .registry
                .admit(&new.fingerprints, owner)
                .and_then(|()| conflict_in(&this_round.query(&new.fingerprints), &owners, owner));
            match verdict {
                Ok(()) => {
                    // Placeholder ids: negative, so they never collide with a real work id.
                    let placeholder = -(position as i64) - 1;
                    this_round.insert(placeholder, &new.fingerprints);
                    owners.insert(placeholder, owner);
                }
                Err(conflict) => refusals[position] = Some(Refusal::Conflict(conflict)),
            }
        }
        Ok(refusals)
    }

    fn answer(
        &self,
        outcome: RoundOutcome,
        work: Vec<Job>,
        replies: Vec<oneshot::Sender<Result<Sequenced, Refused>>>,
        started: Instant,
    ) {
        let RoundOutcome {
            refusals,
            sequenced,
            new_hashes,
        } = outcome;
        self.cache.keep_hashes(&new_hashes);
        let mut committed = None;
        if let Some(round) = sequenced {
            self.metrics.rounds.inc();
            self.metrics
                .round_entries
                .observe(round.audit_paths.len() as f64);
            self.metrics
                .round_seconds
                .observe(started.elapsed().as_secs_f64());
            let signed = round.checkpoint.checkpoint;
            self.metrics.log_size.set(signed.size);
            let note: Arc<str> = round.checkpoint.note.into();
            self.cache.observe_head(
                TreeHead {
                    size: signed.size,
                    root: signed.root,
                },
                note.clone(),
            );
            committed = Some((round.first_index, round.audit_paths.into_iter(), note));
        }
        // Each admitted job's index, in job order.
        let mut next = committed.as_ref().map_or(0, |(first, _, _)| *first);
        let indexes: Vec<Option<u64>> = refusals
            .iter()
            .map(|refusal| {
                refusal.is_none().then(|| {
                    next += 1;
                    next - 1
                })
            })
            .collect();
        for ((((_, record, _), reply), refusal), index) in
            work.into_iter().zip(replies).zip(refusals).zip(&indexes)
        {
            if let Some(refusal) = refusal {
                let refused = match refusal {
                    Refusal::Conflict(conflict) => {
                        Refused::Conflict(with_real_id(conflict, &indexes))
                    }
                    Refusal::Replayed => Refused::Replayed,
                    Refusal::Attribution(e) => Refused::Attribution(e),
                };
                let _ = reply.send(Err(refused));
                continue;
            }
            let index = index.expect("an admitted job has an index");
            let (_, paths, note) = committed
                .as_mut()
                .expect("an admitted entry means the round was sequenced");
            if let Record::Work(new) = &record {
                self.registry.insert(
                    index as i64,
                    new.row.owner_id,
                    &new.fingerprints,
                    Some(&new.local),
                );
            }
            // A requester that went away still has its entry logged; nothing to do.
            let _ = reply.send(Ok(Sequenced {
                index,
                audit_path: paths.next().expect("one audit path per admitted entry"),
                checkpoint_note: note.clone(),
            }));
        }
    }
}

/// One queued append: the entry, what to write with it, and its signed-request digest.
type Job = (PendingEntry, Record, Option<[u8; 32]>);

/// Admits what depends on rows other rounds may have written: signed requests must not have
/// been logged before, and an attribution's state must still allow the change. Both are read
/// under the lock on the log's head, and earlier jobs of the same round count too.
fn admit_others(
    log: &mut LockedDbLog<'_>,
    work: &[Job],
    refusals: &mut [Option<Refusal>],
) -> Result<(), crate::store::StoreError> {
    let mut digests = std::collections::HashSet::new();
    let mut states: HashMap<i64, AttributionState> = HashMap::new();
    for (position, (_, record, digest)) in work.iter().enumerate() {
        if refusals[position].is_some() {
            continue;
        }
        if let Some(digest) = digest {
            if !digests.insert(*digest) || log.signed_request_seen(digest)? {
                refusals[position] = Some(Refusal::Replayed);
                continue;
            }
        }
        let Record::AttributionChange {
            attribution_id,
            change,
            ..
        } = record
        else {
            continue;
        };
        let current = match states.get(attribution_id) {
            Some(state) => Some(*state),
            None => log
                .attribution(*attribution_id)?
                .and_then(|row| AttributionState::parse(&row.state)),
        };
        // The service found the attribution before queueing the change; rows are never deleted.
        let current = current.unwrap_or(AttributionState::Active);
        match change.apply(*attribution_id, current) {
            Ok(next) => {
                states.insert(*attribution_id, next);
            }
            Err(e) => {
                if let Some(digest) = digest {
                    digests.remove(digest);
                }
                refusals[position] = Some(Refusal::Attribution(e));
            }
        }
    }
    Ok(())
}

/// A conflict with a registration earlier in the same round names that job's placeholder id
/// (see [`Sequencer::admit`]); once the round has committed, the work has its real id.
fn with_real_id(conflict: RegistrationConflict, indexes: &[Option<u64>]) -> RegistrationConflict {
    let real = |id: i64| {
        if id >= 0 {
            return id;
        }
        let position = (-id - 1) as usize;
        indexes
            .get(position)
            .copied()
            .flatten()
            .map_or(id, |index| index as i64)
    };
    match conflict {
        RegistrationConflict::AlreadyRegistered { work_id } => {
            RegistrationConflict::AlreadyRegistered {
                work_id: real(work_id),
            }
        }
        RegistrationConflict::OtherOwner { work_id } => RegistrationConflict::OtherOwner {
            work_id: real(work_id),
        },
    }
}
