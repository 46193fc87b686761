//! Rows of `vouchers` and the insert form.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::repo::new_code;
use super::rules::Terms;
use super::status::VoucherStatus;
use super::usable::UsableWindow;
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
    /// Its batch's usable window (see [`super::usable`]).
    pub usable_weekdays: String,
    pub usable_from: Option<String>,
    pub usable_to: Option<String>,
}

impl VoucherRow {
    /// When it may be used in a new order.
    pub fn usable(&self) -> UsableWindow {
        UsableWindow::from_stored(
            &self.usable_weekdays,
            self.usable_from.as_deref(),
            self.usable_to.as_deref(),
        )
    }
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
    pub usable_weekdays: String,
    pub usable_from: Option<String>,
    pub usable_to: Option<String>,
}

impl NewVoucher {
    /// A fresh `available` voucher of a batch with these terms for `user_id`, in its
    /// `slot`, claimed (or won) at `at`.
    pub fn of_batch(batch_id: i64, terms: &Terms, user_id: i64, slot: i64, at: NaiveDateTime) -> NewVoucher {
        let hours = terms.usable.hours;
        NewVoucher {
            code: new_code(),
            batch_id,
            campaign_id: terms.campaign_id,
            user_id,
            slot,
            discount_fen: terms.discount_fen,
            min_spend_fen: terms.min_spend_fen,
            status: VoucherStatus::Available,
            claimed_at: at,
            expires_at: terms.expires_at(at),
            usable_weekdays: terms.usable.stored_weekdays(),
            usable_from: hours.map(|h| h.from_text()),
            usable_to: hours.map(|h| h.to_text()),
        }
    }
}
