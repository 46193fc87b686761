//! The demo's rows, written with explicit ids: the database is empty when the demo
//! starts, so the generator can link rows without reading ids back (PostgreSQL's
//! sequences are moved past them afterwards, see `super::advance_sequences`).
//! Statuses, roles and kinds are the features' enums (stored as their text); the
//! rows are inserted by value (the enums are `AsExpression<Text>` by value only).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::campaigns::models::CampaignStatus;
use crate::db::schema::{
    audit_log, campaigns, merchant_members, merchants, offers, orders, payments, users, voucher_batches, vouchers,
};
use crate::domain::{Category, Role};
use crate::merchants::models::{MemberRole, MerchantStatus};
use crate::offers::models::OfferStatus;
use crate::orders::models::OrderStatus;
use crate::payments::{PaymentKind, PaymentStatus};
use crate::vouchers::status::VoucherStatus;

#[derive(Insertable)]
#[diesel(treat_none_as_null = true)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub phone: String,
    pub password_hash: String,
    pub display_name: String,
    pub role: Role,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(treat_none_as_null = true)]
#[diesel(table_name = merchants)]
pub struct Merchant {
    pub id: i64,
    pub name: String,
    pub license_no: String,
    pub category: Category,
    pub district: String,
    pub address: String,
    pub contact_phone: String,
    pub status: MerchantStatus,
    pub review_note: Option<String>,
    pub owner_id: i64,
    pub search_text: String,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(treat_none_as_null = true)]
#[diesel(table_name = merchant_members)]
pub struct Member {
    pub merchant_id: i64,
    pub user_id: i64,
    pub role: MemberRole,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(treat_none_as_null = true)]
#[diesel(table_name = audit_log)]
pub struct Audit {
    pub id: i64,
    pub actor_id: i64,
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: i64,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(treat_none_as_null = true)]
#[diesel(table_name = offers)]
pub struct Offer {
    pub id: i64,
    pub merchant_id: i64,
    pub title: String,
    pub description: String,
    pub price_fen: i64,
    pub stock: Option<i64>,
    pub status: OfferStatus,
    pub search_text: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(treat_none_as_null = true)]
#[diesel(table_name = campaigns)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub status: CampaignStatus,
    pub budget_fen: i64,
    pub reserved_fen: i64,
    pub target_leverage: f64,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub eligible_categories: String,
    pub eligible_districts: String,
    pub require_real_name: bool,
    pub refund_returns_voucher: bool,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(treat_none_as_null = true)]
#[diesel(table_name = voucher_batches)]
pub struct Batch {
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
#[diesel(treat_none_as_null = true)]
#[diesel(table_name = vouchers)]
pub struct Voucher {
    pub id: i64,
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
    pub order_id: Option<i64>,
}

#[derive(Insertable)]
#[diesel(treat_none_as_null = true)]
#[diesel(table_name = orders)]
pub struct Order {
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
    pub status: OrderStatus,
    pub redemption_code: Option<String>,
    pub created_at: NaiveDateTime,
    pub payment_due_at: NaiveDateTime,
    pub paid_at: Option<NaiveDateTime>,
    pub redeemed_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub refunded_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(treat_none_as_null = true)]
#[diesel(table_name = payments)]
pub struct Payment {
    pub id: i64,
    pub order_id: i64,
    pub provider: &'static str,
    pub reference: String,
    pub amount_fen: i64,
    pub kind: PaymentKind,
    pub status: PaymentStatus,
    pub created_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
}
