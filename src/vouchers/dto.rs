//! What the voucher endpoints answer.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::models::VoucherRow;
use super::status::{effective_status, VoucherStatus};
use crate::time::utc;

#[derive(Debug, Serialize, ToSchema)]
pub struct VoucherDto {
    pub id: i64,
    pub code: String,
    pub batch_id: i64,
    pub campaign_id: i64,
    pub discount_fen: i64,
    pub min_spend_fen: i64,
    pub status: VoucherStatus,
    pub claimed_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The order holding or having used it; null while unused.
    #[schema(required = true)]
    pub order_id: Option<i64>,
}

impl VoucherDto {
    /// The voucher as it reads at `now` (its effective status).
    pub fn new(v: VoucherRow, now: NaiveDateTime) -> VoucherDto {
        VoucherDto {
            status: effective_status(v.status, v.expires_at, now),
            id: v.id,
            code: v.code,
            batch_id: v.batch_id,
            campaign_id: v.campaign_id,
            discount_fen: v.discount_fen,
            min_spend_fen: v.min_spend_fen,
            claimed_at: utc(v.claimed_at),
            expires_at: utc(v.expires_at),
            order_id: v.order_id,
        }
    }
}
