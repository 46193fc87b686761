//! What the statement endpoints answer, and their request bodies (for the document;
//! handlers validate with `http::form::Form`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::models::{LineRow, StatementLineKind, StatementRow, StatementStatus};
use crate::time::utc;

/// A statement: what the platform owes one merchant for one platform-local day.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementDto {
    pub id: i64,
    pub merchant_id: i64,
    /// The merchant's name when the statement closed.
    pub name: String,
    /// The platform-local day, `YYYY-MM-DD`.
    #[schema(example = "2026-11-25")]
    pub day: String,
    pub status: StatementStatus,
    /// Subsidy lines (orders redeemed that day with campaign vouchers).
    pub orders: i64,
    pub subsidy_fen: i64,
    /// Taken back (≥ 0): reversed orders (each a negative line) and the debt
    /// carried in (`−carried_in_fen`).
    pub clawback_fen: i64,
    /// `subsidy_fen − clawback_fen`; a negative net carries forward as a clawback to
    /// the merchant's next statement.
    pub net_fen: i64,
    /// The previous statement's negative net brought forward (≤ 0): part of
    /// `clawback_fen`, not a line.
    pub carried_in_fen: i64,
    /// What is transferred: `max(0, net_fen)`.
    pub payout_fen: i64,
    /// Hex SHA-256 of the statement's CSV.
    pub digest: String,
    pub closed_at: DateTime<Utc>,
    #[schema(required = true)]
    pub approved_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub paid_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub payout_reference: Option<String>,
    #[schema(required = true)]
    pub hold_reason: Option<String>,
}

impl From<StatementRow> for StatementDto {
    fn from(row: StatementRow) -> Self {
        StatementDto {
            id: row.id,
            merchant_id: row.merchant_id,
            name: row.name,
            day: row.day,
            status: row.status,
            orders: row.orders,
            subsidy_fen: row.subsidy_fen,
            clawback_fen: row.clawback_fen,
            net_fen: row.net_fen,
            carried_in_fen: row.carried_in_fen,
            payout_fen: row.payout_fen,
            digest: row.digest,
            closed_at: utc(row.closed_at),
            approved_at: row.approved_at.map(utc),
            paid_at: row.paid_at.map(utc),
            payout_reference: row.payout_reference,
            hold_reason: row.hold_reason,
        }
    }
}

/// A statement line.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineDto {
    pub order_id: i64,
    pub kind: StatementLineKind,
    /// Positive for a subsidy, negative for a clawback.
    pub amount_fen: i64,
    #[schema(required = true)]
    pub redeemed_at: Option<DateTime<Utc>>,
}

impl From<LineRow> for LineDto {
    fn from(row: LineRow) -> Self {
        LineDto {
            order_id: row.order_id,
            kind: row.kind,
            amount_fen: row.amount_fen,
            redeemed_at: row.redeemed_at.map(utc),
        }
    }
}

/// A statement with its lines.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementDetailDto {
    #[serde(flatten)]
    pub statement: StatementDto,
    pub lines: Vec<LineDto>,
}

/// `POST /admin/statements/{id}/hold`, `POST /admin/orders/{id}/reverse`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// `POST /admin/statements/{id}/paid`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaidRequest {
    /// The bank transfer's reference.
    #[schema(min_length = 1, max_length = 100)]
    pub payout_reference: String,
}
