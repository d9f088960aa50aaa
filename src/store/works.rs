//! Registered works and their history. Rows are written only inside a sequencing round, in the
//! same transaction as the log entries that record them.

use diesel::prelude::*;

use super::log::LockedDbLog;
use super::schema::{accounts, work_events, work_features, works};
use super::{DbConnection, Store, StoreError};
use crate::works::{WorkChange, WorkMetadata};

/// A work as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredWork {
    pub work_id: i64,
    pub owner_id: i64,
    pub owner_name: String,
    pub owner_salt: Vec<u8>,
    pub metadata: WorkMetadata,
    pub sha256: Vec<u8>,
    /// `fingerprint::Fingerprints` as JSON.
    pub fingerprints: String,
    pub registered_at: i64,
    pub updated_by_entry: i64,
}

/// What the match index needs of a work.
#[derive(Debug, Clone)]
pub struct IndexedWork {
    pub work_id: i64,
    pub owner_id: i64,
    pub fingerprints: String,
    /// The work's local features, when it has them.
    pub local_features: Option<StoredFeatures>,
}

/// Serialised local features (`fingerprint::local::LocalFeatures`) and the algorithm version
/// that made them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFeatures {
    pub algorithm: String,
    pub bytes: Vec<u8>,
}

/// How many works one read of [`Store::works_after`] answers at most, so that loading a large
/// registry never holds every row's fingerprints and features in memory at once.
pub const WORKS_PER_READ: i64 = 4096;

/// Filters for listing works; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct WorkFilter {
    pub owner: Option<String>,
    pub license_id: Option<String>,
    /// Matched case-insensitively against title and creator.
    pub text: Option<String>,
    /// Only works with a larger id (for paging).
    pub after: Option<i64>,
    pub limit: i64,
}

type WorkColumns = (
    (
        works::work_id,
        works::owner_id,
        accounts::name,
        works::owner_salt,
        works::title,
        works::creator,
        works::source_url,
        works::license_id,
        works::external_id,
        works::content_usage,
    ),
    (
        works::sha256,
        works::fingerprints,
        works::registered_at,
        works::updated_by_entry,
    ),
);

const WORK_COLUMNS: WorkColumns = (
    (
        works::work_id,
        works::owner_id,
        accounts::name,
        works::owner_salt,
        works::title,
        works::creator,
        works::source_url,
        works::license_id,
        works::external_id,
        works::content_usage,
    ),
    (
        works::sha256,
        works::fingerprints,
        works::registered_at,
        works::updated_by_entry,
    ),
);

type WorkRow = (
    (
        i64,
        i64,
        String,
        Vec<u8>,
        String,
        String,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
    ),
    (Vec<u8>, String, i64, i64),
);

fn to_work(row: WorkRow) -> StoredWork {
    let (
        (
            work_id,
            owner_id,
            owner_name,
            owner_salt,
            title,
            creator,
            source_url,
            license_id,
            external_id,
            content_usage,
        ),
        (sha256, fingerprints, registered_at, updated_by_entry),
    ) = row;
    StoredWork {
        work_id,
        owner_id,
        owner_name,
        owner_salt,
        metadata: WorkMetadata {
            title,
            creator,
            source_url,
            license_id,
            external_id,
            content_usage,
        },
        sha256,
        fingerprints,
        registered_at,
        updated_by_entry,
    }
}

fn indexed_after(conn: &mut DbConnection, after: i64) -> QueryResult<Vec<IndexedWork>> {
    type Row = (i64, i64, String, Option<String>, Option<Vec<u8>>);
    let rows: Vec<Row> = works::table
        .left_join(work_features::table)
        .filter(works::work_id.gt(after))
        .order(works::work_id.asc())
        .limit(WORKS_PER_READ)
        .select((
            works::work_id,
            works::owner_id,
            works::fingerprints,
            work_features::algorithm.nullable(),
            work_features::features.nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(work_id, owner_id, fingerprints, algorithm, bytes)| IndexedWork {
                work_id,
                owner_id,
                fingerprints,
                local_features: algorithm
                    .zip(bytes)
                    .map(|(algorithm, bytes)| StoredFeatures { algorithm, bytes }),
            },
        )
        .collect())
}

fn features_of(
    conn: &mut DbConnection,
    work_ids: &[i64],
    algorithm: &str,
) -> QueryResult<Vec<(i64, Vec<u8>)>> {
    work_features::table
        .filter(work_features::work_id.eq_any(work_ids))
        .filter(work_features::algorithm.eq(algorithm))
        .select((work_features::work_id, work_features::features))
        .load(conn)
}

fn work_by_id(conn: &mut DbConnection, work_id: i64) -> QueryResult<Option<StoredWork>> {
    works::table
        .inner_join(accounts::table)
        .filter(works::work_id.eq(work_id))
        .select(WORK_COLUMNS)
        .first::<WorkRow>(conn)
        .optional()
        .map(|row| row.map(to_work))
}

impl LockedDbLog<'_> {
    /// At most [`WORKS_PER_READ`] works registered after `after`, in id order: how a round
    /// sees registrations committed by other nodes before it checks a new one against them.
    pub fn works_after(&mut self, after: i64) -> Result<Vec<IndexedWork>, StoreError> {
        Ok(indexed_after(self.conn(), after)?)
    }

    pub fn work(&mut self, work_id: i64) -> Result<Option<StoredWork>, StoreError> {
        Ok(work_by_id(self.conn(), work_id)?)
    }

    /// Stores a work registered by the entry at `work_id`.
    pub fn insert_work(&mut self, work: &StoredWork) -> Result<(), StoreError> {
        let conn = self.conn();
        let m = &work.metadata;
        diesel::insert_into(works::table)
            .values((
                works::work_id.eq(work.work_id),
                works::owner_id.eq(work.owner_id),
                works::owner_salt.eq(&work.owner_salt),
                works::title.eq(&m.title),
                works::creator.eq(&m.creator),
                works::source_url.eq(&m.source_url),
                works::license_id.eq(&m.license_id),
                works::external_id.eq(&m.external_id),
                works::content_usage.eq(&m.content_usage),
                works::sha256.eq(&work.sha256),
                works::fingerprints.eq(&work.fingerprints),
                works::registered_at.eq(work.registered_at),
                works::updated_by_entry.eq(work.work_id),
            ))
            .execute(conn)?;
        record_event(conn, work.work_id, work.work_id, "work_registered")
    }

    /// Stores the local features of the work registered in this round.
    pub fn insert_work_features(
        &mut self,
        work_id: i64,
        features: &StoredFeatures,
    ) -> Result<(), StoreError> {
        Ok(insert_features(self.conn(), work_id, features)?)
    }

    /// Applies a change recorded by the entry at `entry_index`.
    pub fn change_work(
        &mut self,
        work_id: i64,
        change: &WorkChange,
        entry_index: i64,
        kind: &str,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        let target = works::table.find(work_id);
        match change {
            WorkChange::License { license_id } => diesel::update(target)
                .set((
                    works::license_id.eq(license_id),
                    works::updated_by_entry.eq(entry_index),
                ))
                .execute(conn)?,
            WorkChange::Preferences { content_usage } => diesel::update(target)
                .set((
                    works::content_usage.eq(content_usage),
                    works::updated_by_entry.eq(entry_index),
                ))
                .execute(conn)?,
        };
        record_event(conn, work_id, entry_index, kind)
    }
}

fn insert_features(
    conn: &mut DbConnection,
    work_id: i64,
    features: &StoredFeatures,
) -> QueryResult<()> {
    diesel::insert_into(work_features::table)
        .values((
            work_features::work_id.eq(work_id),
            work_features::algorithm.eq(&features.algorithm),
            work_features::features.eq(&features.bytes),
        ))
        .execute(conn)?;
    Ok(())
}

fn record_event(
    conn: &mut DbConnection,
    work_id: i64,
    entry_index: i64,
    kind: &str,
) -> Result<(), StoreError> {
    diesel::insert_into(work_events::table)
        .values((
            work_events::entry_index.eq(entry_index),
            work_events::work_id.eq(work_id),
            work_events::kind.eq(kind),
        ))
        .execute(conn)?;
    Ok(())
}

impl Store {
    /// At most [`WORKS_PER_READ`] works registered after `after`, in id order.
    pub fn works_after(&self, after: i64) -> Result<Vec<IndexedWork>, StoreError> {
        Ok(indexed_after(&mut *self.conn()?, after)?)
    }

    /// The serialised local features, made by `algorithm`, of those of `work_ids` that have
    /// them.
    pub fn work_features(
        &self,
        work_ids: &[i64],
        algorithm: &str,
    ) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        Ok(features_of(&mut *self.conn()?, work_ids, algorithm)?)
    }

    /// Stores or replaces a work's local features outside a round: for recomputing them under
    /// a new algorithm version. Nodes already running read them at their next start.
    pub fn put_work_features(
        &self,
        work_id: i64,
        features: &StoredFeatures,
    ) -> Result<(), StoreError> {
        self.conn()?
            .transaction::<_, diesel::result::Error, _>(|conn| {
                diesel::delete(work_features::table.find(work_id)).execute(conn)?;
                insert_features(conn, work_id, features)
            })?;
        Ok(())
    }

    pub fn work(&self, work_id: i64) -> Result<Option<StoredWork>, StoreError> {
        Ok(work_by_id(&mut *self.conn()?, work_id)?)
    }

    /// Works with the given SHA-256, oldest first.
    pub fn works_with_sha256(&self, sha256: &[u8]) -> Result<Vec<StoredWork>, StoreError> {
        let rows: Vec<WorkRow> = works::table
            .inner_join(accounts::table)
            .filter(works::sha256.eq(sha256))
            .order(works::work_id.asc())
            .select(WORK_COLUMNS)
            .load(&mut self.conn()?)?;
        Ok(rows.into_iter().map(to_work).collect())
    }

    pub fn list_works(&self, filter: &WorkFilter) -> Result<Vec<StoredWork>, StoreError> {
        let mut query = works::table
            .inner_join(accounts::table)
            .select(WORK_COLUMNS)
            .order(works::work_id.asc())
            .limit(filter.limit)
            .into_boxed();
        if let Some(owner) = &filter.owner {
            query = query.filter(accounts::name.eq(owner.clone()));
        }
        if let Some(license) = &filter.license_id {
            query = query.filter(works::license_id.eq(license.clone()));
        }
        if let Some(after) = filter.after {
            query = query.filter(works::work_id.gt(after));
        }
        if let Some(text) = &filter.text {
            let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
            query = query.filter(
                diesel::dsl::sql::<diesel::sql_types::Bool>("(lower(works.title) LIKE ")
                    .bind::<diesel::sql_types::Text, _>(pattern.clone())
                    .sql(" ESCAPE '\\' OR lower(works.creator) LIKE ")
                    .bind::<diesel::sql_types::Text, _>(pattern)
                    .sql(" ESCAPE '\\')"),
            );
        }
        let rows: Vec<WorkRow> = query.load(&mut *self.conn()?)?;
        Ok(rows.into_iter().map(to_work).collect())
    }

    /// The log indexes of every entry about a work, oldest first, with their kinds.
    pub fn work_history(&self, work_id: i64) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(work_events::table
            .filter(work_events::work_id.eq(work_id))
            .order(work_events::entry_index.asc())
            .select((work_events::entry_index, work_events::kind))
            .load(&mut self.conn()?)?)
    }
}

/// `LIKE` treats `%` and `_` as wildcards; a search for them means the characters.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
