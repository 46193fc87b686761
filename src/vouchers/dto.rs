//! What the voucher endpoints answer.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::models::VoucherRow;
use super::status::{effective_status, VoucherStatus};
use super::usable::UsableWindow;
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
    /// The ISO weekdays (1 = Monday .. 7) it may be used on, platform-local.
    pub usable_weekdays: Vec<u8>,
    /// The platform-local hours `[from, to)` it may be used in; null = all day.
    #[schema(required = true)]
    pub usable_hours: Option<UsableHoursDto>,
}

/// A platform-local time-of-day window, `from` inclusive, `to` exclusive.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsableHoursDto {
    #[schema(example = "09:00")]
    pub from: String,
    #[schema(example = "21:00")]
    pub to: String,
}

impl UsableHoursDto {
    /// The hours of a window, as shown on batches and vouchers.
    pub fn of(window: &UsableWindow) -> Option<UsableHoursDto> {
        window.hours.map(|h| UsableHoursDto {
            from: h.from_text(),
            to: h.to_text(),
        })
    }
}

impl VoucherDto {
    /// The voucher as it reads at `now` (its effective status).
    pub fn new(v: VoucherRow, now: NaiveDateTime) -> VoucherDto {
        let usable = v.usable();
        VoucherDto {
            usable_weekdays: usable.weekdays(),
            usable_hours: UsableHoursDto::of(&usable),
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
