//! Rows the orders feature reads and writes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::campaigns::models::CampaignStatus;
use crate::db::schema::{orders, payments};
use crate::domain::Category;
use crate::merchants::models::MerchantStatus;
use crate::offers::models::OfferStatus;
use crate::payments::{PaymentKind, PaymentStatus};
use crate::vouchers::status::VoucherStatus;

crate::text_enum! {
    /// An order's status, in the order of the life of an order.
    pub enum OrderStatus {
        PendingPayment = "pending_payment",
        Paid = "paid",
        Redeemed = "redeemed",
        Cancelled = "cancelled",
        Refunded = "refunded",
        /// Redeemed, then found fraudulent by an admin: out of every report and clawed back.
        Reversed = "reversed",
    }
}

/// An `orders` row, in schema column order.
#[derive(Debug, Clone, Queryable)]
pub struct OrderRow {
    pub id: i64,
    pub user_id: i64,
    pub merchant_id: i64,
    pub offer_id: i64,
    pub quantity: i64,
    pub voucher_id: Option<i64>,
    pub campaign_id: Option<i64>,
    pub gross_fen: i64,
    pub subsidy_fen: i64,
    pub payable_fen: i64,
    #[diesel(deserialize_as = String)]
    pub status: OrderStatus,
    pub redemption_code: Option<String>,
    pub created_at: NaiveDateTime,
    pub payment_due_at: NaiveDateTime,
    pub paid_at: Option<NaiveDateTime>,
    pub redeemed_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub refunded_at: Option<NaiveDateTime>,
    /// Set while a payment or refund of this order is with the provider (the claim
    /// that allows one money movement per order at a time).
    pub money_in_flight_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = orders)]
pub struct NewOrder {
    pub user_id: i64,
    pub merchant_id: i64,
    pub offer_id: i64,
    pub quantity: i64,
    pub voucher_id: Option<i64>,
    pub campaign_id: Option<i64>,
    pub gross_fen: i64,
    pub subsidy_fen: i64,
    pub payable_fen: i64,
    pub status: OrderStatus,
    pub created_at: NaiveDateTime,
    pub payment_due_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = payments)]
pub struct NewPayment {
    pub order_id: i64,
    pub provider: String,
    pub reference: String,
    pub amount_fen: i64,
    pub kind: PaymentKind,
    pub status: PaymentStatus,
    pub created_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
}

/// An offer with what an order needs to know of its merchant.
#[derive(Debug, Clone, Queryable)]
pub struct OfferForSale {
    pub id: i64,
    pub merchant_id: i64,
    pub price_fen: i64,
    pub stock: Option<i64>,
    #[diesel(deserialize_as = String)]
    pub status: OfferStatus,
    #[diesel(deserialize_as = String)]
    pub merchant_status: MerchantStatus,
    #[diesel(deserialize_as = String)]
    pub category: Category,
    pub district: String,
}

/// A voucher with the parts of its campaign that decide whether it applies.
#[derive(Debug, Clone, Queryable)]
pub struct VoucherForOrder {
    pub id: i64,
    pub campaign_id: i64,
    pub discount_fen: i64,
    pub min_spend_fen: i64,
    #[diesel(deserialize_as = String)]
    pub status: VoucherStatus,
    pub expires_at: NaiveDateTime,
    #[diesel(deserialize_as = String)]
    pub campaign_status: CampaignStatus,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub eligible_categories: String,
    pub eligible_districts: String,
    pub usable_weekdays: String,
    pub usable_from: Option<String>,
    pub usable_to: Option<String>,
}
