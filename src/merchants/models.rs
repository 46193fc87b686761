//! Rows of `merchants` and `merchant_members`, and the insert forms.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{merchant_members, merchants};

crate::text_enum! {
    /// A merchant's review status.
    pub enum MerchantStatus {
        /// Applied, waiting in the review queue.
        Pending = "pending",
        Approved = "approved",
        /// Final.
        Rejected = "rejected",
        Suspended = "suspended",
    }
}

crate::text_enum! {
    /// A member's role at a merchant.
    pub enum MemberRole {
        Owner = "owner",
        Staff = "staff",
    }
}

/// Merchant statuses as stored.
pub mod status {
    pub const PENDING: &str = "pending";
    pub const APPROVED: &str = "approved";
    pub const REJECTED: &str = "rejected";
    pub const SUSPENDED: &str = "suspended";
    pub const ALL: &[&str] = &[PENDING, APPROVED, REJECTED, SUSPENDED];
}

/// Membership roles as stored.
pub mod role {
    pub const OWNER: &str = "owner";
    pub const STAFF: &str = "staff";
}

#[derive(Debug, Clone, Queryable)]
pub struct MerchantRow {
    pub id: i64,
    pub name: String,
    pub license_no: String,
    pub category: String,
    pub district: String,
    pub address: String,
    pub contact_phone: String,
    pub status: String,
    pub review_note: Option<String>,
    pub owner_id: i64,
    pub search_text: String,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = merchants)]
pub struct NewMerchant<'a> {
    pub name: &'a str,
    pub license_no: &'a str,
    pub category: &'a str,
    pub district: &'a str,
    pub address: &'a str,
    pub contact_phone: &'a str,
    pub status: &'a str,
    pub owner_id: i64,
    pub search_text: &'a str,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = merchant_members)]
pub struct NewMember<'a> {
    pub merchant_id: i64,
    pub user_id: i64,
    pub role: &'a str,
    pub created_at: NaiveDateTime,
}
