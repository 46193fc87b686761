//! What the report endpoints answer (API.md, Reports), shaped from the figures the
//! queries compute ([`super::figures`]).

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::figures;
use crate::campaigns::models::CampaignStatus;

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
    pub status: CampaignStatus,
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
    /// What winning the campaign's lottery caused, measured against the entrants who
    /// lost; null unless the campaign has a drawn lottery batch with at least 2
    /// winners and 2 losers.
    #[schema(required = true)]
    pub causal: Option<Causal>,
}

/// Causal leverage: the consumption a lottery win caused beyond what the same kind
/// of resident spent anyway (the losers), per fen of subsidy. A resident's
/// consumption is the gross of their counted orders at any merchant, with or without
/// a voucher, paid from the campaign's first draw to its `ends_at` (or now). Means
/// are rounded to the nearest fen, halves up; the ratios divide the fen figures
/// shown, so each can be recomputed from the others.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Causal {
    /// Residents who won in any of the campaign's drawn lottery batches.
    pub winners: i64,
    /// Residents who entered them and won in none.
    pub losers: i64,
    pub winners_mean_consumption_fen: i64,
    pub losers_mean_consumption_fen: i64,
    /// winners_mean_consumption_fen − losers_mean_consumption_fen (may be negative).
    pub incremental_per_winner_fen: i64,
    /// The campaign's counted subsidy on the winners' vouchers ÷ winners.
    pub subsidy_per_winner_fen: i64,
    /// incremental_per_winner_fen ÷ subsidy_per_winner_fen; null while that is 0.
    #[schema(required = true)]
    pub causal_leverage: Option<f64>,
    /// Lower end of Welch's 95% interval of the mean difference (t quantile at the
    /// Welch–Satterthwaite degrees of freedom) ÷ subsidy_per_winner_fen; null while that is 0.
    #[schema(required = true)]
    pub ci95_low: Option<f64>,
    /// Upper end of the same interval; null while subsidy_per_winner_fen is 0.
    #[schema(required = true)]
    pub ci95_high: Option<f64>,
}

impl From<figures::CausalFigures> for Causal {
    fn from(c: figures::CausalFigures) -> Self {
        Causal {
            winners: c.winners,
            losers: c.losers,
            winners_mean_consumption_fen: c.winners_mean_consumption_fen,
            losers_mean_consumption_fen: c.losers_mean_consumption_fen,
            incremental_per_winner_fen: c.incremental_per_winner_fen,
            subsidy_per_winner_fen: c.subsidy_per_winner_fen,
            causal_leverage: c.causal_leverage,
            ci95_low: c.ci95_low,
            ci95_high: c.ci95_high,
        }
    }
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

impl From<figures::BreakdownKey> for BreakdownKey {
    fn from(key: figures::BreakdownKey) -> Self {
        match key {
            figures::BreakdownKey::Merchant { merchant_id, name } => BreakdownKey::Merchant { merchant_id, name },
            figures::BreakdownKey::Category { category } => BreakdownKey::Category { category },
            figures::BreakdownKey::District { district } => BreakdownKey::District { district },
            figures::BreakdownKey::Day { date } => BreakdownKey::Day { date },
        }
    }
}

impl From<figures::Breakdown> for Breakdown {
    fn from(row: figures::Breakdown) -> Self {
        Breakdown {
            key: row.key.into(),
            orders: row.orders,
            consumption_fen: row.consumption_fen,
            subsidy_fen: row.subsidy_fen,
            leverage: row.leverage,
        }
    }
}

fn rows(rows: Vec<figures::Breakdown>) -> Vec<Breakdown> {
    rows.into_iter().map(Breakdown::from).collect()
}

impl From<figures::VoucherCounts> for VoucherCounts {
    fn from(v: figures::VoucherCounts) -> Self {
        VoucherCounts {
            issued: v.issued,
            claimed: v.claimed,
            available: v.available,
            locked: v.locked,
            used: v.used,
            expired: v.expired,
            void: v.void,
        }
    }
}

impl From<figures::CampaignFigures> for CampaignReport {
    fn from(f: figures::CampaignFigures) -> Self {
        CampaignReport {
            campaign_id: f.campaign_id,
            name: f.name,
            status: f.status,
            budget_fen: f.budget_fen,
            reserved_fen: f.reserved_fen,
            vouchers: f.vouchers.into(),
            orders: f.orders,
            consumption_fen: f.consumption_fen,
            subsidy_fen: f.subsidy_fen,
            resident_paid_fen: f.resident_paid_fen,
            leverage: f.leverage,
            out_of_pocket_leverage: f.out_of_pocket_leverage,
            merchant_wide_consumption_fen: f.merchant_wide_consumption_fen,
            merchant_wide_leverage: f.merchant_wide_leverage,
            target_leverage: f.target_leverage,
            on_target: f.on_target,
            by_merchant: rows(f.by_merchant),
            by_category: rows(f.by_category),
            by_district: rows(f.by_district),
            by_day: rows(f.by_day),
            causal: f.causal.map(Causal::from),
        }
    }
}

impl From<figures::Settlements> for Settlements {
    fn from(s: figures::Settlements) -> Self {
        Settlements {
            items: s
                .items
                .into_iter()
                .map(|r| SettlementRow {
                    merchant_id: r.merchant_id,
                    name: r.name,
                    orders: r.orders,
                    subsidy_fen: r.subsidy_fen,
                })
                .collect(),
            total_subsidy_fen: s.total_subsidy_fen,
        }
    }
}

impl From<figures::Overview> for Overview {
    fn from(o: figures::Overview) -> Self {
        Overview {
            users: o.users,
            merchants: o
                .merchants
                .into_iter()
                .map(|(status, count)| (status.as_str().to_owned(), count))
                .collect(),
            orders: o.orders,
            consumption_fen: o.consumption_fen,
            subsidy_fen: o.subsidy_fen,
            leverage: o.leverage,
        }
    }
}
