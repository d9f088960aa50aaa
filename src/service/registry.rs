//! The in-memory match index over every registered work, kept in step with the database.
//!
//! Works enter the index three ways: all of them at start; this node's registrations right
//! after their round commits; and other nodes' registrations, read back by a poller every
//! [`POLL_INTERVAL`] and, before any registration is admitted, inside the round's locked
//! transaction, so two nodes can never both admit one image.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use crate::fingerprint::{Decision, Evidence, Fingerprints, MatchIndex, MatchOutcome};
use crate::store::IndexedWork;

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
    owners: HashMap<i64, i64>,
    /// Every work with an id up to this has been read from the database.
    scanned_up_to: i64,
}

impl Default for Indexed {
    fn default() -> Self {
        Indexed {
            index: MatchIndex::new(),
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
    /// algorithm version; it is skipped with a warning rather than matched wrongly.
    pub fn absorb(&self, rows: Vec<IndexedWork>) {
        if rows.is_empty() {
            return;
        }
        let parsed: Vec<(i64, i64, Option<Fingerprints>)> = rows
            .into_iter()
            .map(|row| {
                let fp = serde_json::from_str::<Fingerprints>(&row.fingerprints)
                    .map_err(|e| {
                        tracing::warn!(work_id = row.work_id, error = %e, "stored fingerprints do not parse; the work is not matched")
                    })
                    .ok();
                (row.work_id, row.owner_id, fp)
            })
            .collect();
        let mut inner = self.write();
        let fresh: Vec<(i64, &Fingerprints)> = parsed
            .iter()
            .filter(|(id, _, _)| !inner.owners.contains_key(id))
            .filter_map(|(id, _, fp)| fp.as_ref().map(|fp| (*id, fp)))
            .collect();
        // A few works go into the index's pending tail; many at once are cheaper as one rebuild.
        if fresh.len() > 1024 {
            inner.index.extend(fresh);
        } else {
            for (id, fp) in fresh {
                inner.index.insert(id, fp);
            }
        }
        for (id, owner, _) in &parsed {
            inner.owners.insert(*id, *owner);
            inner.scanned_up_to = inner.scanned_up_to.max(*id);
        }
    }

    /// Adds a work this node has just committed.
    pub fn insert(&self, work_id: i64, owner_id: i64, fp: &Fingerprints) {
        let mut inner = self.write();
        if inner.owners.insert(work_id, owner_id).is_none() {
            inner.index.insert(work_id, fp);
        }
    }

    pub fn query(&self, fp: &Fingerprints) -> MatchOutcome {
        self.read().index.query(fp)
    }

    pub fn owner_of(&self, work_id: i64) -> Option<i64> {
        self.read().owners.get(&work_id).copied()
    }

    /// Whether `owner_id` may register an image with fingerprints `fp`.
    pub fn admit(&self, fp: &Fingerprints, owner_id: i64) -> Result<(), RegistrationConflict> {
        let inner = self.read();
        conflict_in(&inner.index, &inner.owners, fp, owner_id)
    }
}

/// A registration conflicts with a work that matches it (a decided match, not a possible one)
/// and belongs to someone else, or with the same bytes registered by the same owner.
pub fn conflict_in(
    index: &MatchIndex,
    owners: &HashMap<i64, i64>,
    fp: &Fingerprints,
    owner_id: i64,
) -> Result<(), RegistrationConflict> {
    for candidate in index.query(fp).candidates {
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
