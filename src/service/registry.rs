//! The in-memory match indexes over every registered work, kept in step with the database:
//! the global index (exact bytes, PDQ, pHash) and the candidate index of the local-feature
//! stage, whose features themselves stay in the database and are read for the few candidates
//! a query verifies.
//!
//! Works enter the indexes three ways: all of them at start; this node's registrations right
//! after their round commits; and other nodes' registrations, read back by a poller every
//! [`POLL_INTERVAL`] and, before any registration is admitted, inside the round's locked
//! transaction, so two nodes can never both admit one image. That last check is the global
//! stage's only: the local stage's needs the candidates' features from the database, too slow
//! for a round that holds the log's lock; it runs before the round instead.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use crate::fingerprint::local::{
    self, CandidateIndex, GeometryParams, LocalFeatures, LOCAL_ALGORITHM_VERSION, VERIFY_TOP,
};
use crate::fingerprint::{
    Decision, Evidence, Fingerprints, MatchIndex, MatchOutcome, WorkingImage,
};
use crate::store::{IndexedWork, Store, StoreError, StoredFeatures};

/// How often a node reads works registered by other nodes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Why a registration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationConflict {
    /// The same bytes are already registered by the same owner.
    AlreadyRegistered { work_id: i64 },
    /// The image matches a work another owner registered.
    OtherOwner { work_id: i64 },
}

struct Indexed {
    index: MatchIndex,
    local: CandidateIndex,
    owners: HashMap<i64, i64>,
    /// Every work with an id up to this has been read from the database.
    scanned_up_to: i64,
}

impl Default for Indexed {
    fn default() -> Self {
        Indexed {
            index: MatchIndex::new(),
            local: CandidateIndex::default(),
            owners: HashMap::new(),
            // Work ids are log indexes, which start at 0.
            scanned_up_to: -1,
        }
    }
}

#[derive(Default)]
pub struct Registry {
    inner: RwLock<Indexed>,
}

impl Registry {
    pub fn len(&self) -> usize {
        self.read().owners.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn memory_bytes(&self) -> usize {
        self.read().index.memory_bytes()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Indexed> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Indexed> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The id up to which the database has been read.
    pub fn scanned_up_to(&self) -> i64 {
        self.read().scanned_up_to
    }

    /// Adds works read from the database in id order (all ids above
    /// [`Self::scanned_up_to`]). A row whose fingerprints no longer parse was made by another
    /// algorithm version; it is skipped with a warning rather than matched wrongly. Local
    /// features of another version are left out the same way: the work is then found by the
    /// global stage only.
    pub fn absorb(&self, rows: Vec<IndexedWork>) {
        if rows.is_empty() {
            return;
        }
        type Parsed = (i64, i64, Option<Fingerprints>, Option<LocalFeatures>);
        let parsed: Vec<Parsed> = rows
            .into_iter()
            .map(|row| {
                let fp = serde_json::from_str::<Fingerprints>(&row.fingerprints)
                    .map_err(|e| {
                        tracing::warn!(work_id = row.work_id, error = %e, "stored fingerprints do not parse; the work is not matched")
                    })
                    .ok();
                let local = row
                    .local_features
                    .and_then(|stored| parse_features(row.work_id, &stored));
                (row.work_id, row.owner_id, fp, local)
            })
            .collect();
        let mut inner = self.write();
        let fresh: Vec<&Parsed> = parsed
            .iter()
            .filter(|(id, ..)| !inner.owners.contains_key(id))
            .collect();
        let global: Vec<(i64, &Fingerprints)> = fresh
            .iter()
            .filter_map(|(id, _, fp, _)| fp.as_ref().map(|fp| (*id, fp)))
            .collect();
        // A few works go into the index's pending tail; many at once are cheaper as one rebuild.
        if global.len() > 1024 {
            inner.index.extend(global);
        } else {
            for (id, fp) in global {
                inner.index.insert(id, fp);
            }
        }
        let local: Vec<(u64, &LocalFeatures)> = fresh
            .iter()
            .filter_map(|(id, _, _, local)| local.as_ref().map(|l| (*id as u64, l)))
            .collect();
        if local.len() > 1024 {
            inner.local.extend(local);
        } else {
            for (id, features) in local {
                inner.local.insert(id, features);
            }
        }
        for (id, owner, ..) in &parsed {
            inner.owners.insert(*id, *owner);
            inner.scanned_up_to = inner.scanned_up_to.max(*id);
        }
    }

    /// Reads every work registered after [`Self::scanned_up_to`], a page at a time.
    pub fn catch_up(
        &self,
        mut read_after: impl FnMut(i64) -> Result<Vec<IndexedWork>, StoreError>,
    ) -> Result<(), StoreError> {
        loop {
            let rows = read_after(self.scanned_up_to())?;
            let full = rows.len() as i64 >= crate::store::WORKS_PER_READ;
            self.absorb(rows);
            if !full {
                return Ok(());
            }
        }
    }

    /// Adds a work this node has just committed.
    pub fn insert(
        &self,
        work_id: i64,
        owner_id: i64,
        fp: &Fingerprints,
        local: Option<&LocalFeatures>,
    ) {
        let mut inner = self.write();
        if inner.owners.insert(work_id, owner_id).is_none() {
            inner.index.insert(work_id, fp);
            if let Some(local) = local {
                inner.local.insert(work_id as u64, local);
            }
        }
    }

    /// The global stage alone.
    pub fn query(&self, fp: &Fingerprints) -> MatchOutcome {
        self.read().index.query(fp)
    }

    /// Adds the local-feature stage to `global`'s answer: the works whose descriptors the
    /// query shares most are verified geometrically against their stored features.
    pub fn with_local_stage(
        &self,
        global: MatchOutcome,
        query: &LocalFeatures,
        store: &Store,
    ) -> Result<MatchOutcome, StoreError> {
        let candidates = self.read().local.candidates(query, VERIFY_TOP);
        if candidates.is_empty() {
            return Ok(global);
        }
        let ids: Vec<i64> = candidates.iter().map(|c| c.work as i64).collect();
        // The query asked for this version only; what is left to check is that the bytes parse.
        let mut stored: HashMap<u64, LocalFeatures> = store
            .work_features(&ids, LOCAL_ALGORITHM_VERSION)?
            .into_iter()
            .filter_map(|(id, bytes)| parse_feature_bytes(id, &bytes).map(|f| (id as u64, f)))
            .collect();
        let verified =
            local::verify_candidates(query, &candidates, &GeometryParams::default(), |id| {
                stored.remove(&id)
            });
        Ok(global.with_local(
            verified
                .into_iter()
                .filter_map(|m| Some((m.work as i64, m.evidence?))),
        ))
    }

    pub fn owner_of(&self, work_id: i64) -> Option<i64> {
        self.read().owners.get(&work_id).copied()
    }

    /// Both stages as every upload is matched: the global stage, then, unless that decided a
    /// match, the local-feature stage on the same decoded image (its features are computed only
    /// then: they cost several times the global fingerprint). Answers whether the local stage
    /// ran.
    pub fn match_upload(
        &self,
        fingerprints: &Fingerprints,
        working: &WorkingImage,
        store: &Store,
    ) -> Result<(MatchOutcome, bool), StoreError> {
        let global = self.query(fingerprints);
        if global.decision == Decision::Match {
            return Ok((global, false));
        }
        let local = local::extract_upload(working);
        Ok((self.with_local_stage(global, &local, store)?, true))
    }

    /// Whether `owner_id` may register an image with fingerprints `fp` (global stage).
    pub fn admit(&self, fp: &Fingerprints, owner_id: i64) -> Result<(), RegistrationConflict> {
        let inner = self.read();
        conflict_in(&inner.index.query(fp), &inner.owners, owner_id)
    }

    /// Whether `owner_id` may register an image whose matches, over both stages, are
    /// `outcome`.
    pub fn admit_outcome(
        &self,
        outcome: &MatchOutcome,
        owner_id: i64,
    ) -> Result<(), RegistrationConflict> {
        conflict_in(outcome, &self.read().owners, owner_id)
    }
}

/// Features stored under this version, parsed; `None`, with a warning, for another version or
/// bytes that do not parse.
fn parse_features(work_id: i64, stored: &StoredFeatures) -> Option<LocalFeatures> {
    if stored.algorithm != LOCAL_ALGORITHM_VERSION {
        tracing::debug!(work_id, algorithm = %stored.algorithm, "local features of another version; the work is matched by the global stage only");
        return None;
    }
    parse_feature_bytes(work_id, &stored.bytes)
}

/// Features of the current version, parsed; `None`, with a warning, when the bytes do not
/// parse.
fn parse_feature_bytes(work_id: i64, bytes: &[u8]) -> Option<LocalFeatures> {
    LocalFeatures::from_bytes(bytes)
        .map_err(|e| tracing::warn!(work_id, error = %e, "stored local features do not parse; the work is matched by the global stage only"))
        .ok()
}

/// A registration conflicts with a work that matches it (a decided match, not a possible one)
/// and belongs to someone else, or with the same bytes registered by the same owner.
pub fn conflict_in(
    outcome: &MatchOutcome,
    owners: &HashMap<i64, i64>,
    owner_id: i64,
) -> Result<(), RegistrationConflict> {
    for candidate in &outcome.candidates {
        if candidate.decision != Decision::Match {
            continue;
        }
        let same_owner = owners.get(&candidate.work_id) == Some(&owner_id);
        match (same_owner, candidate.evidence) {
            (false, _) => {
                return Err(RegistrationConflict::OtherOwner {
                    work_id: candidate.work_id,
                })
            }
            (true, Evidence::ExactBytes) => {
                return Err(RegistrationConflict::AlreadyRegistered {
                    work_id: candidate.work_id,
                })
            }
            // An owner may register several versions of their own image.
            (true, _) => {}
        }
    }
    Ok(())
}
