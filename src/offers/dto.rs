//! What the offer endpoints answer.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::models::OfferRow;
use crate::time::utc;

#[derive(Debug, Serialize)]
pub struct OfferDto {
    pub id: i64,
    pub merchant_id: i64,
    pub title: String,
    pub description: String,
    pub price_fen: i64,
    /// What is left to sell; `null` for unlimited.
    pub stock: Option<i64>,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

impl From<OfferRow> for OfferDto {
    fn from(row: OfferRow) -> Self {
        OfferDto {
            id: row.id,
            merchant_id: row.merchant_id,
            title: row.title,
            description: row.description,
            price_fen: row.price_fen,
            stock: row.stock,
            status: row.status,
            created_at: utc(row.created_at),
        }
    }
}
