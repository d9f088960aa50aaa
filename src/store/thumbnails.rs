//! Thumbnails of registered works. Unlike the works themselves they are written outside the
//! sequencing round, after the entry has committed: a missing thumbnail is not a ledger fault.

use diesel::prelude::*;

use super::log::unix_now;
use super::schema::work_thumbnails;
use super::{Store, StoreError};

/// A stored thumbnail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub content_type: String,
    pub image: Vec<u8>,
}

impl Store {
    /// Stores the thumbnail of a committed work; a second one for the same work is refused.
    pub fn put_thumbnail(&self, work_id: i64, thumbnail: &Thumbnail) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        diesel::insert_into(work_thumbnails::table)
            .values((
                work_thumbnails::work_id.eq(work_id),
                work_thumbnails::content_type.eq(&thumbnail.content_type),
                work_thumbnails::image.eq(&thumbnail.image),
                work_thumbnails::created_at.eq(unix_now()),
            ))
            .execute(&mut conn)?;
        Ok(())
    }

    pub fn thumbnail(&self, work_id: i64) -> Result<Option<Thumbnail>, StoreError> {
        let mut conn = self.conn()?;
        let row: Option<(String, Vec<u8>)> = work_thumbnails::table
            .filter(work_thumbnails::work_id.eq(work_id))
            .select((work_thumbnails::content_type, work_thumbnails::image))
            .first(&mut conn)
            .optional()?;
        Ok(row.map(|(content_type, image)| Thumbnail {
            content_type,
            image,
        }))
    }
}
