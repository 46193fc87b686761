//! What the entry endpoints answer.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::models::{EntryRow, EntryStatus};
use crate::time::utc;

/// A resident's entry into a lottery batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryDto {
    pub batch_id: i64,
    /// 1, 2, 3 … per batch, with no gaps.
    pub entry_no: i64,
    pub entered_at: DateTime<Utc>,
    /// `entered` until the draw, then `won` or `lost`.
    pub status: EntryStatus,
}

impl From<EntryRow> for EntryDto {
    fn from(e: EntryRow) -> Self {
        EntryDto {
            batch_id: e.batch_id,
            entry_no: e.entry_no,
            entered_at: utc(e.entered_at),
            status: e.status,
        }
    }
}
