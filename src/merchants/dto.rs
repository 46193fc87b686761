//! What the merchant endpoints answer.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::models::MerchantRow;
use crate::time::utc;

#[derive(Debug, Serialize)]
pub struct MerchantDto {
    pub id: i64,
    pub name: String,
    pub license_no: String,
    pub category: String,
    pub district: String,
    pub address: String,
    pub contact_phone: String,
    pub status: String,
    pub review_note: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<MerchantRow> for MerchantDto {
    fn from(row: MerchantRow) -> Self {
        MerchantDto {
            id: row.id,
            name: row.name,
            license_no: row.license_no,
            category: row.category,
            district: row.district,
            address: row.address,
            contact_phone: row.contact_phone,
            status: row.status,
            review_note: row.review_note,
            created_at: utc(row.created_at),
        }
    }
}

/// The answer to adding staff.
#[derive(Debug, Serialize)]
pub struct StaffDto {
    pub merchant_id: i64,
    pub user_id: i64,
    pub role: &'static str,
}
