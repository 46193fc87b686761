//! Rows of `campaigns` and `voucher_batches`, and their insert forms.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{campaigns, voucher_batches};

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

/// Campaign statuses as stored.
pub const STATUSES: &[&str] = &["draft", "active", "paused", "ended"];

#[derive(Debug, Clone, Queryable)]
pub struct CampaignRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub status: String,
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
}

/// Splits a stored comma-separated list; empty text is the empty list.
pub fn split_list(stored: &str) -> Vec<String> {
    stored.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}
