//! Rows and vocabularies of statements and their lines.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{statement_lines, statements};

crate::text_enum! {
    /// A statement's status: `closed` on closing (or `held` for a flagged merchant),
    /// then `approved` and `paid`; `held` until an admin releases it.
    pub enum StatementStatus {
        Closed = "closed",
        Held = "held",
        Approved = "approved",
        Paid = "paid",
    }
}

crate::text_enum! {
    /// What a statement line is: an order's subsidy owed, or a reversed order's
    /// subsidy taken back (negative).
    pub enum StatementLineKind {
        Subsidy = "subsidy",
        Clawback = "clawback",
    }
}

/// A `statements` row, in schema column order.
#[derive(Debug, Clone, Queryable)]
pub struct StatementRow {
    pub id: i64,
    pub merchant_id: i64,
    pub name: String,
    pub day: String,
    #[diesel(deserialize_as = String)]
    pub status: StatementStatus,
    pub orders: i64,
    pub subsidy_fen: i64,
    pub clawback_fen: i64,
    pub net_fen: i64,
    pub carried_in_fen: i64,
    pub payout_fen: i64,
    pub digest: String,
    pub hold_reason: Option<String>,
    pub payout_reference: Option<String>,
    pub closed_at: NaiveDateTime,
    pub approved_at: Option<NaiveDateTime>,
    pub paid_at: Option<NaiveDateTime>,
}

/// A `statement_lines` row, in schema column order.
#[derive(Debug, Clone, Queryable)]
pub struct LineRow {
    pub id: i64,
    pub statement_id: Option<i64>,
    pub merchant_id: i64,
    pub order_id: i64,
    #[diesel(deserialize_as = String)]
    pub kind: StatementLineKind,
    pub amount_fen: i64,
    pub redeemed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// A statement as the closing writes it: its id allocated beforehand, so that the
/// CSV and its digest are computed in memory and the day goes in with a few
/// multi-row INSERTs (`statements::repo::closing`).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = statements)]
pub struct NewStatement {
    pub id: i64,
    pub merchant_id: i64,
    pub name: String,
    pub day: String,
    pub status: StatementStatus,
    pub orders: i64,
    pub subsidy_fen: i64,
    pub clawback_fen: i64,
    pub net_fen: i64,
    pub carried_in_fen: i64,
    pub payout_fen: i64,
    pub digest: String,
    pub hold_reason: Option<String>,
    pub closed_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = statement_lines)]
pub struct NewLine {
    pub statement_id: Option<i64>,
    pub merchant_id: i64,
    pub order_id: i64,
    pub kind: StatementLineKind,
    pub amount_fen: i64,
    pub redeemed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}
