//! What the offer endpoints answer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::models::{OfferRow, OfferStatus};
use crate::time::utc;

#[derive(Debug, Serialize, ToSchema)]
pub struct OfferDto {
    pub id: i64,
    pub merchant_id: i64,
    pub title: String,
    pub description: String,
    pub price_fen: i64,
    /// What is left to sell; `null` for unlimited.
    #[schema(required = true)]
    pub stock: Option<i64>,
    pub status: OfferStatus,
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

// Request bodies, for the OpenAPI document. Handlers validate bodies with
// `http::form::Form`; these types state the same rules (text is trimmed before
// its length is counted).

/// `POST /merchants/{id}/offers`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOfferRequest {
    #[schema(min_length = 1, max_length = 100, example = "《三体》精装版")]
    pub title: String,
    /// Absent or null means empty.
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub price_fen: i64,
    /// What there is to sell; absent or null means unlimited.
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub stock: Option<i64>,
}

/// `PATCH /offers/{id}`: absent fields keep their value.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferPatchRequest {
    /// Not null.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100)]
    pub title: String,
    /// Null empties it.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// Not null.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub price_fen: i64,
    /// Null makes the offer unlimited.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub stock: Option<i64>,
    /// Not null.
    #[serde(default)]
    #[schema(value_type = OfferStatus)]
    pub status: String,
}
