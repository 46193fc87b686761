//! Rows of `merchants` and `merchant_members`, and the insert forms.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{merchant_members, merchants};
use crate::domain::Category;

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

#[derive(Debug, Clone, Queryable)]
pub struct MerchantRow {
    pub id: i64,
    pub name: String,
    pub license_no: String,
    #[diesel(deserialize_as = String)]
    pub category: Category,
    pub district: String,
    pub address: String,
    pub contact_phone: String,
    #[diesel(deserialize_as = String)]
    pub status: MerchantStatus,
    pub review_note: Option<String>,
    pub owner_id: i64,
    pub search_text: String,
    pub created_at: NaiveDateTime,
}

/// Enum columns hold the enum's text (`X::as_str()`): diesel's `Insertable` derive
/// cannot mix the enums' `AsExpression` with the borrowed `&'a str` fields.
#[derive(Insertable)]
#[diesel(table_name = merchants)]
pub struct NewMerchant<'a> {
    pub name: &'a str,
    pub license_no: &'a str,
    /// [`Category::as_str`].
    pub category: &'static str,
    pub district: &'a str,
    pub address: &'a str,
    pub contact_phone: &'a str,
    /// [`MerchantStatus::as_str`].
    pub status: &'static str,
    pub owner_id: i64,
    pub search_text: &'a str,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = merchant_members)]
pub struct NewMember {
    pub merchant_id: i64,
    pub user_id: i64,
    pub role: MemberRole,
    pub created_at: NaiveDateTime,
}
