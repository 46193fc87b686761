//! What the campaign endpoints answer: Campaign (with its batches) and Batch.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::models::{split_list, Allocation, BatchRow, CampaignRow, CampaignStatus};
use crate::lottery::dto::DrawDto;
use crate::time::utc;
use crate::vouchers::daily::remaining_today;
use crate::vouchers::dto::UsableHoursDto;

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchDto {
    pub id: i64,
    pub campaign_id: i64,
    pub name: String,
    pub discount_fen: i64,
    pub min_spend_fen: i64,
    pub quantity: i64,
    /// `quantity` minus the vouchers claimed.
    pub remaining: i64,
    pub per_user_limit: i64,
    pub claim_starts_at: DateTime<Utc>,
    pub claim_ends_at: DateTime<Utc>,
    pub valid_days: i64,
    /// `first_come` (claimed) or `lottery` (entered, then drawn).
    pub allocation: Allocation,
    /// At most this many claims per platform-local day; null = no cap.
    #[schema(required = true)]
    pub daily_quantity: Option<i64>,
    /// What today's cap leaves (platform-local day): `daily_quantity` less today's
    /// claims, never below 0 nor above `remaining`; null without a cap.
    #[schema(required = true)]
    pub remaining_today: Option<i64>,
    /// The ISO weekdays (1 = Monday .. 7) its vouchers may be used on, platform-local.
    pub usable_weekdays: Vec<u8>,
    /// The platform-local hours `[from, to)` its vouchers may be used in; null = all day.
    #[schema(required = true)]
    pub usable_hours: Option<UsableHoursDto>,
    /// A lottery batch's draw (commitment, entries, and once drawn the seed and
    /// winners); null for first_come.
    #[schema(required = true)]
    pub draw: Option<DrawDto>,
}

impl BatchDto {
    /// The batch as shown, with `claimed_today` claims on the platform-local day.
    pub fn new(b: BatchRow, claimed_today: i64) -> Self {
        let usable = b.usable();
        BatchDto {
            draw: DrawDto::of(&b),
            allocation: b.allocation,
            daily_quantity: b.daily_quantity,
            remaining_today: remaining_today(b.daily_quantity, claimed_today, b.remaining),
            usable_weekdays: usable.weekdays(),
            usable_hours: UsableHoursDto::of(&usable),
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

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignDto {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub status: CampaignStatus,
    pub budget_fen: i64,
    /// The face value of its batches, reserved from the budget.
    pub reserved_fen: i64,
    pub target_leverage: f64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Empty means every category.
    #[schema(value_type = Vec<crate::domain::Category>)]
    pub eligible_categories: Vec<String>,
    /// Empty means every district.
    #[schema(value_type = Vec<crate::domain::District>)]
    pub eligible_districts: Vec<String>,
    pub require_real_name: bool,
    pub refund_returns_voucher: bool,
    pub created_at: DateTime<Utc>,
    pub batches: Vec<BatchDto>,
}

impl CampaignDto {
    /// The campaign with its batches; `claimed_today`: their claims on the
    /// platform-local day (absent: none).
    pub fn new(c: CampaignRow, batches: Vec<BatchRow>, claimed_today: &HashMap<i64, i64>) -> CampaignDto {
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
            batches: batches
                .into_iter()
                .map(|b| {
                    let today = claimed_today.get(&b.id).copied().unwrap_or(0);
                    BatchDto::new(b, today)
                })
                .collect(),
        }
    }
}

// Request bodies, for the OpenAPI document. Handlers validate bodies with
// `http::form::Form`; these types state the same rules (text is trimmed before
// its length is counted).

/// `POST /admin/campaigns`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaignRequest {
    #[schema(min_length = 1, max_length = 100, example = "2026 廊坊文旅消费季")]
    pub name: String,
    /// Absent or null means empty.
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub budget_fen: i64,
    /// 1:10 is `10`.
    #[schema(exclusive_minimum = 0, maximum = 1000, example = 10)]
    pub target_leverage: f64,
    pub starts_at: DateTime<Utc>,
    /// After `starts_at`.
    pub ends_at: DateTime<Utc>,
    /// Absent, null or empty means every category.
    #[schema(value_type = Option<Vec<crate::domain::Category>>)]
    pub eligible_categories: Option<Vec<String>>,
    /// Absent, null or empty means every district.
    #[schema(value_type = Option<Vec<crate::domain::District>>)]
    pub eligible_districts: Option<Vec<String>>,
    /// Only real-name-verified residents may claim (default false).
    pub require_real_name: Option<bool>,
    /// Whether a refunded order gives its voucher back (default false).
    pub refund_returns_voucher: Option<bool>,
}

/// `POST /admin/campaigns/{id}/batches`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBatchRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// At most `min_spend_fen`, unless that is 0.
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub discount_fen: i64,
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub min_spend_fen: i64,
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub quantity: i64,
    #[schema(minimum = 1, maximum = 100)]
    pub per_user_limit: i64,
    /// Not before the campaign's `starts_at`.
    pub claim_starts_at: DateTime<Utc>,
    /// After `claim_starts_at`, not after the campaign's `ends_at`.
    pub claim_ends_at: DateTime<Utc>,
    #[schema(minimum = 1, maximum = 366)]
    pub valid_days: i64,
    /// `first_come` (default) or `lottery`. For a lottery the claim window is the entry
    /// window, `quantity` the number of winners, and `per_user_limit` must be 1.
    pub allocation: Option<Allocation>,
    /// First-come only: at most this many claims per platform-local day (1..quantity);
    /// absent or null = no cap.
    #[schema(minimum = 1)]
    pub daily_quantity: Option<i64>,
    /// ISO weekdays (1 = Monday .. 7) its vouchers may be used on; absent or null = every day.
    #[schema(min_items = 1)]
    pub usable_weekdays: Option<Vec<u8>>,
    /// Platform-local hours its vouchers may be used in, `from` < `to`; absent or null = all day.
    pub usable_hours: Option<UsableHoursRequest>,
}

/// `{"from": "HH:MM", "to": "HH:MM"}`, platform-local, `from` < `to` (`to` may be `24:00`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsableHoursRequest {
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "09:00")]
    pub from: String,
    #[schema(pattern = "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$", example = "21:00")]
    pub to: String,
}
