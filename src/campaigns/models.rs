//! Rows of `campaigns` and `voucher_batches`, and their insert forms.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{campaigns, voucher_batches};
use crate::vouchers::usable::UsableWindow;

crate::text_enum! {
    /// A campaign's status. Moves: `draft → active` (publish), `active → paused`,
    /// `paused → active`, `draft | active | paused → ended`.
    pub enum CampaignStatus {
        Draft = "draft",
        Active = "active",
        Paused = "paused",
        Ended = "ended",
    }
}

crate::text_enum! {
    /// How a batch's vouchers are given out (API.md, Fair release): first come, first
    /// served by `POST /batches/{id}/claim`, or drawn by lot among the residents who
    /// entered (`POST /batches/{id}/entries`).
    pub enum Allocation {
        FirstCome = "first_come",
        Lottery = "lottery",
    }
}

impl CampaignStatus {
    /// The statuses a campaign can still end from (and take new batches in): all
    /// but `ended`, which is final.
    pub const LIVE: &'static [CampaignStatus] =
        &[CampaignStatus::Draft, CampaignStatus::Active, CampaignStatus::Paused];
}

/// A lifecycle move of API.md: the one table of which statuses each move starts
/// from and where it leads. The repo turns a move into ONE conditional UPDATE
/// `WHERE status IN (from)`, so an illegal move or a lost race changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Publish,
    Pause,
    Resume,
    End,
}

impl Move {
    /// The statuses the move may start from.
    pub fn from(self) -> &'static [CampaignStatus] {
        match self {
            Move::Publish => &[CampaignStatus::Draft],
            Move::Pause => &[CampaignStatus::Active],
            Move::Resume => &[CampaignStatus::Paused],
            Move::End => CampaignStatus::LIVE,
        }
    }

    /// The status the move leads to.
    pub fn to(self) -> CampaignStatus {
        match self {
            Move::Publish | Move::Resume => CampaignStatus::Active,
            Move::Pause => CampaignStatus::Paused,
            Move::End => CampaignStatus::Ended,
        }
    }

    /// The audit verb: `campaign.<verb>`.
    pub fn verb(self) -> &'static str {
        match self {
            Move::Publish => "publish",
            Move::Pause => "pause",
            Move::Resume => "resume",
            Move::End => "end",
        }
    }
}

#[derive(Debug, Clone, Queryable)]
pub struct CampaignRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    #[diesel(deserialize_as = String)]
    pub status: CampaignStatus,
    pub budget_fen: i64,
    pub reserved_fen: i64,
    pub target_leverage: f64,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    /// Comma-separated; empty means every category.
    pub eligible_categories: String,
    /// Comma-separated; empty means every district.
    pub eligible_districts: String,
    pub require_real_name: bool,
    pub refund_returns_voucher: bool,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = campaigns)]
pub struct NewCampaign<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub status: &'a str,
    pub budget_fen: i64,
    pub reserved_fen: i64,
    pub target_leverage: f64,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub eligible_categories: &'a str,
    pub eligible_districts: &'a str,
    pub require_real_name: bool,
    pub refund_returns_voucher: bool,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable)]
pub struct BatchRow {
    pub id: i64,
    pub campaign_id: i64,
    pub name: String,
    pub discount_fen: i64,
    pub min_spend_fen: i64,
    pub quantity: i64,
    pub remaining: i64,
    pub per_user_limit: i64,
    pub claim_starts_at: NaiveDateTime,
    pub claim_ends_at: NaiveDateTime,
    pub valid_days: i64,
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = String)]
    pub allocation: Allocation,
    /// At most this many claims per platform-local day (first_come only).
    pub daily_quantity: Option<i64>,
    /// See [`crate::vouchers::usable`] for these three.
    pub usable_weekdays: String,
    pub usable_from: Option<String>,
    pub usable_to: Option<String>,
    /// Lottery: entries taken so far (the last `entry_no`).
    pub entries: i64,
    /// Lottery: hex of the secret seed. Never shown before the draw.
    pub draw_seed: Option<String>,
    /// Lottery: hex SHA-256 of the seed bytes, published at creation.
    pub commitment: Option<String>,
    /// Lottery: the draw time, fixed by the first drawer (winners' `claimed_at`).
    pub draw_started_at: Option<NaiveDateTime>,
    /// Lottery: when the draw finished; the seed is public from then on.
    pub drawn_at: Option<NaiveDateTime>,
}

impl BatchRow {
    /// When its vouchers may be used.
    pub fn usable(&self) -> UsableWindow {
        UsableWindow::from_stored(
            &self.usable_weekdays,
            self.usable_from.as_deref(),
            self.usable_to.as_deref(),
        )
    }
}

#[derive(Insertable)]
#[diesel(table_name = voucher_batches)]
pub struct NewBatch<'a> {
    pub campaign_id: i64,
    pub name: &'a str,
    pub discount_fen: i64,
    pub min_spend_fen: i64,
    pub quantity: i64,
    pub remaining: i64,
    pub per_user_limit: i64,
    pub claim_starts_at: NaiveDateTime,
    pub claim_ends_at: NaiveDateTime,
    pub valid_days: i64,
    pub created_at: NaiveDateTime,
    pub allocation: &'a str,
    pub daily_quantity: Option<i64>,
    pub usable_weekdays: String,
    pub usable_from: Option<String>,
    pub usable_to: Option<String>,
    pub draw_seed: Option<String>,
    pub commitment: Option<String>,
}

/// Splits a stored comma-separated list; empty text is the empty list.
pub fn split_list(stored: &str) -> Vec<String> {
    stored.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_move_leads_out_of_its_sources_and_ended_is_final() {
        for step in [Move::Publish, Move::Pause, Move::Resume, Move::End] {
            assert!(!step.from().contains(&step.to()), "{step:?} is a no-op move");
            assert!(!step.from().contains(&CampaignStatus::Ended), "{step:?} leaves ended");
        }
        assert_eq!(
            Move::End.from(),
            &[CampaignStatus::Draft, CampaignStatus::Active, CampaignStatus::Paused]
        );
    }
}
