//! Rows of `batch_entries` and the entry status.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::batch_entries;

crate::text_enum! {
    /// An entry's status: `entered` until the draw, then `won` or `lost`.
    pub enum EntryStatus {
        Entered = "entered",
        Won = "won",
        Lost = "lost",
    }
}

#[derive(Debug, Clone, Queryable)]
pub struct EntryRow {
    pub id: i64,
    pub batch_id: i64,
    pub user_id: i64,
    pub entry_no: i64,
    pub entered_at: NaiveDateTime,
    #[diesel(deserialize_as = String)]
    pub status: EntryStatus,
    /// The winner's voucher, once drawn.
    pub voucher_id: Option<i64>,
}

#[derive(Insertable)]
#[diesel(table_name = batch_entries)]
pub struct NewEntry {
    pub batch_id: i64,
    pub user_id: i64,
    pub entry_no: i64,
    pub entered_at: NaiveDateTime,
    pub status: EntryStatus,
}
