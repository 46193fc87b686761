//! What the campaign endpoints answer: Campaign (with its batches) and Batch.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::models::{split_list, BatchRow, CampaignRow};
use crate::time::utc;

#[derive(Debug, Serialize)]
pub struct BatchDto {
    pub id: i64,
    pub campaign_id: i64,
    pub name: String,
    pub discount_fen: i64,
    pub min_spend_fen: i64,
    pub quantity: i64,
    pub remaining: i64,
    pub per_user_limit: i64,
    pub claim_starts_at: DateTime<Utc>,
    pub claim_ends_at: DateTime<Utc>,
    pub valid_days: i64,
}

impl From<BatchRow> for BatchDto {
    fn from(b: BatchRow) -> Self {
        BatchDto {
            id: b.id,
            campaign_id: b.campaign_id,
            name: b.name,
            discount_fen: b.discount_fen,
            min_spend_fen: b.min_spend_fen,
            quantity: b.quantity,
            remaining: b.remaining,
            per_user_limit: b.per_user_limit,
            claim_starts_at: utc(b.claim_starts_at),
            claim_ends_at: utc(b.claim_ends_at),
            valid_days: b.valid_days,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CampaignDto {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub status: String,
    pub budget_fen: i64,
    pub reserved_fen: i64,
    pub target_leverage: f64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub eligible_categories: Vec<String>,
    pub eligible_districts: Vec<String>,
    pub require_real_name: bool,
    pub refund_returns_voucher: bool,
    pub created_at: DateTime<Utc>,
    pub batches: Vec<BatchDto>,
}

impl CampaignDto {
    pub fn new(c: CampaignRow, batches: Vec<BatchRow>) -> CampaignDto {
        CampaignDto {
            id: c.id,
            eligible_categories: split_list(&c.eligible_categories),
            eligible_districts: split_list(&c.eligible_districts),
            name: c.name,
            description: c.description,
            status: c.status,
            budget_fen: c.budget_fen,
            reserved_fen: c.reserved_fen,
            target_leverage: c.target_leverage,
            starts_at: utc(c.starts_at),
            ends_at: utc(c.ends_at),
            require_real_name: c.require_real_name,
            refund_returns_voucher: c.refund_returns_voucher,
            created_at: utc(c.created_at),
            batches: batches.into_iter().map(BatchDto::from).collect(),
        }
    }
}
