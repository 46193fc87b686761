//! What the report endpoints answer (API.md, Reports).

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

/// The key of a breakdown row, flattened into it: `merchant_id` and `name`,
/// `category`, `district`, or `date` (`YYYY-MM-DD` in the platform time zone).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord, ToSchema)]
#[serde(untagged)]
pub enum BreakdownKey {
    Merchant { merchant_id: i64, name: String },
    Category { category: String },
    District { district: String },
    Day { date: String },
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Breakdown {
    #[serde(flatten)]
    pub key: BreakdownKey,
    pub orders: i64,
    pub consumption_fen: i64,
    pub subsidy_fen: i64,
    /// consumption / subsidy; null while subsidy is 0.
    #[schema(required = true)]
    pub leverage: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VoucherCounts {
    pub issued: i64,
    pub claimed: i64,
    pub available: i64,
    pub locked: i64,
    pub used: i64,
    pub expired: i64,
    pub void: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignReport {
    pub campaign_id: i64,
    pub name: String,
    pub status: String,
    pub budget_fen: i64,
    pub reserved_fen: i64,
    pub vouchers: VoucherCounts,
    pub orders: i64,
    pub consumption_fen: i64,
    pub subsidy_fen: i64,
    pub resident_paid_fen: i64,
    /// Direct leverage: consumption / subsidy (held against the target).
    #[schema(required = true)]
    pub leverage: Option<f64>,
    /// resident_paid / subsidy.
    #[schema(required = true)]
    pub out_of_pocket_leverage: Option<f64>,
    pub merchant_wide_consumption_fen: i64,
    /// merchant_wide_consumption / subsidy.
    #[schema(required = true)]
    pub merchant_wide_leverage: Option<f64>,
    pub target_leverage: f64,
    pub on_target: bool,
    pub by_merchant: Vec<Breakdown>,
    pub by_category: Vec<Breakdown>,
    pub by_district: Vec<Breakdown>,
    pub by_day: Vec<Breakdown>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SettlementRow {
    pub merchant_id: i64,
    pub name: String,
    pub orders: i64,
    pub subsidy_fen: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Settlements {
    pub items: Vec<SettlementRow>,
    pub total_subsidy_fen: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Overview {
    pub users: i64,
    /// pending, approved, rejected, suspended.
    pub merchants: BTreeMap<String, i64>,
    pub orders: i64,
    pub consumption_fen: i64,
    pub subsidy_fen: i64,
    #[schema(required = true)]
    pub leverage: Option<f64>,
}
