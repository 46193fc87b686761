//! The report figures as the queries compute them: plain values, no wire format.
//! [`super::repo`] returns these; [`super::dto`] shapes them into the answers of
//! API.md and [`super::csv`] into the by-merchant CSV.

use std::collections::BTreeMap;

use crate::campaigns::models::CampaignStatus;
use crate::merchants::models::MerchantStatus;

/// What one breakdown row is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum BreakdownKey {
    Merchant {
        merchant_id: i64,
        name: String,
    },
    Category {
        category: String,
    },
    District {
        district: String,
    },
    /// `YYYY-MM-DD` in the platform time zone.
    Day {
        date: String,
    },
}

#[derive(Debug, Clone)]
pub struct Breakdown {
    pub key: BreakdownKey,
    pub orders: i64,
    pub consumption_fen: i64,
    pub subsidy_fen: i64,
    /// consumption / subsidy; `None` while subsidy is 0.
    pub leverage: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct VoucherCounts {
    pub issued: i64,
    pub claimed: i64,
    pub available: i64,
    pub locked: i64,
    pub used: i64,
    pub expired: i64,
    pub void: i64,
}

/// One campaign's figures (see `dto::CampaignReport` for what each means).
#[derive(Debug, Clone)]
pub struct CampaignFigures {
    pub campaign_id: i64,
    pub name: String,
    pub status: CampaignStatus,
    pub budget_fen: i64,
    pub reserved_fen: i64,
    pub vouchers: VoucherCounts,
    pub orders: i64,
    pub consumption_fen: i64,
    pub subsidy_fen: i64,
    pub resident_paid_fen: i64,
    pub leverage: Option<f64>,
    pub out_of_pocket_leverage: Option<f64>,
    pub merchant_wide_consumption_fen: i64,
    pub merchant_wide_leverage: Option<f64>,
    pub target_leverage: f64,
    pub on_target: bool,
    pub by_merchant: Vec<Breakdown>,
    pub by_category: Vec<Breakdown>,
    pub by_district: Vec<Breakdown>,
    pub by_day: Vec<Breakdown>,
    /// Null unless the campaign has a drawn lottery batch with ≥ 2 winners and ≥ 2 losers.
    pub causal: Option<CausalFigures>,
}

/// What winning a campaign's lottery caused (see [`super::causal`] for who counts,
/// the window and the rounding).
#[derive(Debug, Clone, PartialEq)]
pub struct CausalFigures {
    pub winners: i64,
    pub losers: i64,
    pub winners_mean_consumption_fen: i64,
    pub losers_mean_consumption_fen: i64,
    /// winners' mean − losers' mean.
    pub incremental_per_winner_fen: i64,
    /// The counted subsidy on the winners' vouchers ÷ winners.
    pub subsidy_per_winner_fen: i64,
    /// incremental ÷ subsidy per winner; `None` while that subsidy is 0.
    pub causal_leverage: Option<f64>,
    /// Welch's 95% interval of the mean difference ÷ subsidy per winner.
    pub ci95_low: Option<f64>,
    pub ci95_high: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct SettlementRow {
    pub merchant_id: i64,
    pub name: String,
    pub orders: i64,
    pub subsidy_fen: i64,
}

#[derive(Debug, Clone)]
pub struct Settlements {
    pub items: Vec<SettlementRow>,
    pub total_subsidy_fen: i64,
}

#[derive(Debug, Clone)]
pub struct Overview {
    pub users: i64,
    /// Every merchant status, with 0 where no merchant has it.
    pub merchants: BTreeMap<MerchantStatus, i64>,
    pub orders: i64,
    pub consumption_fen: i64,
    pub subsidy_fen: i64,
    pub leverage: Option<f64>,
}
