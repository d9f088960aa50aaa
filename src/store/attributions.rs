//! Recorded attributions, their history, and the digests of signed requests. Rows are written
//! only inside a sequencing round, in the same transaction as the entries that record them;
//! erasing a publisher is the one exception, and it touches no log data.

use diesel::prelude::*;

use super::log::LockedDbLog;
use super::schema::{accounts, attribution_events, attributions, signed_requests};
use super::{DbConnection, Store, StoreError};

/// An attribution as stored. `details` is the API's view of it as JSON.
#[derive(Debug, Clone, PartialEq, Queryable, Insertable)]
#[diesel(table_name = attributions)]
pub struct StoredAttribution {
    pub attribution_id: i64,
    pub work_id: i64,
    pub publisher_id: i64,
    /// `None` once the publisher's personal data was erased.
    pub publisher_salt: Option<Vec<u8>>,
    pub media_sha256: Vec<u8>,
    /// `fingerprint::Fingerprints` as JSON.
    pub media_fingerprints: String,
    pub published_url: Option<String>,
    pub state: String,
    pub details: String,
    pub recorded_at: i64,
    pub updated_by_entry: i64,
}

/// Filters for listing attributions; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct AttributionFilter {
    pub work_id: Option<i64>,
    pub published_url: Option<String>,
    pub media_sha256: Option<Vec<u8>>,
    pub publisher_id: Option<i64>,
    /// Only attributions with a larger id (for paging).
    pub after: Option<i64>,
    pub limit: i64,
}

/// One entry of an attribution's history.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct AttributionEventRow {
    pub entry_index: i64,
    pub kind: String,
    pub reason: Option<String>,
}

fn attribution_by_id(conn: &mut DbConnection, id: i64) -> QueryResult<Option<StoredAttribution>> {
    attributions::table.find(id).first(conn).optional()
}

impl LockedDbLog<'_> {
    pub fn attribution(&mut self, id: i64) -> Result<Option<StoredAttribution>, StoreError> {
        Ok(attribution_by_id(self.conn(), id)?)
    }

    /// Stores an attribution recorded by the entry at `row.attribution_id`.
    pub fn insert_attribution(&mut self, row: &StoredAttribution) -> Result<(), StoreError> {
        let conn = self.conn();
        diesel::insert_into(attributions::table)
            .values(row)
            .execute(conn)?;
        record_event(
            conn,
            row.attribution_id,
            row.attribution_id,
            "attribution_recorded",
            None,
        )
    }

    /// Applies a revocation or dispute recorded by the entry at `entry_index`.
    pub fn change_attribution(
        &mut self,
        id: i64,
        state: &str,
        entry_index: i64,
        kind: &str,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        diesel::update(attributions::table.find(id))
            .set((
                attributions::state.eq(state),
                attributions::updated_by_entry.eq(entry_index),
            ))
            .execute(conn)?;
        record_event(conn, id, entry_index, kind, reason)
    }

    /// Whether a signed note with this digest was already logged.
    pub fn signed_request_seen(&mut self, note_sha256: &[u8]) -> Result<bool, StoreError> {
        let count: i64 = signed_requests::table
            .filter(signed_requests::note_sha256.eq(note_sha256))
            .count()
            .get_result(self.conn())?;
        Ok(count > 0)
    }

    pub fn insert_signed_request(
        &mut self,
        note_sha256: &[u8],
        entry_index: i64,
    ) -> Result<(), StoreError> {
        diesel::insert_into(signed_requests::table)
            .values((
                signed_requests::note_sha256.eq(note_sha256),
                signed_requests::entry_index.eq(entry_index),
            ))
            .execute(self.conn())?;
        Ok(())
    }
}

fn record_event(
    conn: &mut DbConnection,
    attribution_id: i64,
    entry_index: i64,
    kind: &str,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    diesel::insert_into(attribution_events::table)
        .values((
            attribution_events::entry_index.eq(entry_index),
            attribution_events::attribution_id.eq(attribution_id),
            attribution_events::kind.eq(kind),
            attribution_events::reason.eq(reason),
        ))
        .execute(conn)?;
    Ok(())
}

impl Store {
    pub fn attribution(&self, id: i64) -> Result<Option<StoredAttribution>, StoreError> {
        Ok(attribution_by_id(&mut *self.conn()?, id)?)
    }

    pub fn list_attributions(
        &self,
        filter: &AttributionFilter,
    ) -> Result<Vec<StoredAttribution>, StoreError> {
        let mut query = attributions::table
            .order(attributions::attribution_id.asc())
            .limit(filter.limit)
            .into_boxed();
        if let Some(work_id) = filter.work_id {
            query = query.filter(attributions::work_id.eq(work_id));
        }
        if let Some(url) = &filter.published_url {
            query = query.filter(attributions::published_url.eq(url.clone()));
        }
        if let Some(sha256) = &filter.media_sha256 {
            query = query.filter(attributions::media_sha256.eq(sha256.clone()));
        }
        if let Some(publisher) = filter.publisher_id {
            query = query.filter(attributions::publisher_id.eq(publisher));
        }
        if let Some(after) = filter.after {
            query = query.filter(attributions::attribution_id.gt(after));
        }
        Ok(query.load(&mut *self.conn()?)?)
    }

    /// The histories of several attributions at once, oldest entry first, by attribution id.
    pub fn attribution_histories(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, Vec<AttributionEventRow>>, StoreError> {
        let rows: Vec<(i64, i64, String, Option<String>)> = attribution_events::table
            .filter(attribution_events::attribution_id.eq_any(ids))
            .order(attribution_events::entry_index.asc())
            .select((
                attribution_events::attribution_id,
                attribution_events::entry_index,
                attribution_events::kind,
                attribution_events::reason,
            ))
            .load(&mut self.conn()?)?;
        let mut histories = std::collections::HashMap::<i64, Vec<_>>::new();
        for (id, entry_index, kind, reason) in rows {
            histories.entry(id).or_default().push(AttributionEventRow {
                entry_index,
                kind,
                reason,
            });
        }
        Ok(histories)
    }

    /// The clear name behind a publisher commitment, while it has not been erased.
    pub fn publisher_name(&self, publisher_id: i64) -> Result<Option<String>, StoreError> {
        Ok(accounts::table
            .find(publisher_id)
            .select(accounts::name)
            .first(&mut self.conn()?)
            .optional()?)
    }

    /// Erases what ties a publisher account to its attributions: the salts of its commitments
    /// and its name (replaced by `erased-<id>`); its tokens and key are revoked too. The log is
    /// not touched. Answers how many commitments can no longer be opened, or `None` when no
    /// account has that name.
    pub fn erase_publisher(&self, name: &str) -> Result<Option<usize>, StoreError> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            let Some(id) = accounts::table
                .filter(accounts::name.eq(name))
                .select(accounts::id)
                .first::<i64>(conn)
                .optional()?
            else {
                return Ok(None);
            };
            let erased =
                diesel::update(attributions::table.filter(attributions::publisher_id.eq(id)))
                    .set(attributions::publisher_salt.eq(None::<Vec<u8>>))
                    .execute(conn)?;
            diesel::update(accounts::table.find(id))
                .set((
                    accounts::name.eq(format!("erased-{id}")),
                    accounts::public_key.eq(None::<String>),
                    accounts::revoked_at.eq(Some(super::unix_now())),
                ))
                .execute(conn)?;
            Ok(Some(erased))
        })
    }
}
