//! What the entry endpoints answer.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::models::{EntryRow, EntryStatus};
use super::rank;
use crate::campaigns::models::{Allocation, BatchRow};
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

/// A lottery batch's draw, public: everything needed to recompute the winners.
#[derive(Debug, Serialize, ToSchema)]
pub struct DrawDto {
    pub batch_id: i64,
    /// `hmac-sha256-rank-v1` (API.md, Fair release).
    #[schema(example = "hmac-sha256-rank-v1")]
    pub algorithm: &'static str,
    /// Hex SHA-256 of the seed's 32 bytes, published when the batch was made.
    pub commitment: String,
    /// Hex of the 32 seed bytes; null until drawn.
    #[schema(required = true)]
    pub seed: Option<String>,
    /// Entries taken (the last `entry_no`).
    pub entries: i64,
    /// Prizes: the batch's `quantity`.
    pub quantity: i64,
    /// Winners drawn: min(entries, quantity) once drawn, 0 before.
    pub winners: i64,
    /// When the draw was made (every winner's voucher `claimed_at`); null until drawn.
    #[schema(required = true)]
    pub drawn_at: Option<DateTime<Utc>>,
}

impl DrawDto {
    /// The draw of a batch; `None` for a first-come batch.
    pub fn of(b: &BatchRow) -> Option<DrawDto> {
        if b.allocation != Allocation::Lottery {
            return None;
        }
        let drawn = b.drawn_at.is_some();
        Some(DrawDto {
            batch_id: b.id,
            algorithm: rank::ALGORITHM,
            commitment: b.commitment.clone().unwrap_or_default(),
            // The seed is published by the draw, never before.
            seed: if drawn { b.draw_seed.clone() } else { None },
            entries: b.entries,
            quantity: b.quantity,
            winners: if drawn { b.quantity - b.remaining } else { 0 },
            drawn_at: b.drawn_at.map(utc),
        })
    }
}
