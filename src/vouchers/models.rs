//! Rows of `vouchers` and the insert form.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::status::VoucherStatus;
use crate::db::schema::vouchers;

#[derive(Debug, Clone, Queryable)]
pub struct VoucherRow {
    pub id: i64,
    pub code: String,
    pub batch_id: i64,
    pub campaign_id: i64,
    pub user_id: i64,
    pub slot: i64,
    pub discount_fen: i64,
    pub min_spend_fen: i64,
    /// Stored status: available, locked, used or void (never expired; see
    /// [`super::status::effective_status`]).
    #[diesel(deserialize_as = String)]
    pub status: VoucherStatus,
    pub claimed_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub order_id: Option<i64>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = vouchers)]
pub struct NewVoucher {
    pub code: String,
    pub batch_id: i64,
    pub campaign_id: i64,
    pub user_id: i64,
    pub slot: i64,
    pub discount_fen: i64,
    pub min_spend_fen: i64,
    pub status: VoucherStatus,
    pub claimed_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}
