//! What the risk endpoints answer.

use serde::Serialize;
use utoipa::ToSchema;

use super::repo::Flagged;
use super::scan::Signal;

/// A merchant in the admin risk queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct RiskMerchantDto {
    pub merchant_id: i64,
    pub name: String,
    /// The sum over the signals of value / threshold (each at least 1).
    pub score: f64,
    pub signals: Vec<Signal>,
}

impl From<Flagged> for RiskMerchantDto {
    fn from(f: Flagged) -> Self {
        RiskMerchantDto {
            merchant_id: f.merchant_id,
            name: f.name,
            score: f.score,
            signals: f.signals,
        }
    }
}
