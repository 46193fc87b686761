//! A statement's status moves, each one conditional UPDATE in a write transaction
//! with its audit row: `closed|held → held` (hold, with a reason), `held → closed`
//! (release), `closed → approved`, `approved → paid` (with the payout reference).
//! Anything else is 409 `invalid_state`; the figures never change.

use diesel::prelude::*;

use crate::audit::{self, AuditTarget};
use crate::db::schema::statements;
use crate::db::{write_tx, DbConnection};
use crate::domain::Caller;
use crate::error::{AppError, AppResult};
use crate::statements::models::{StatementRow, StatementStatus};
use crate::time::now;

/// One status move and what it carries.
#[derive(Debug, Clone)]
pub enum Move {
    Hold { reason: String },
    Release,
    Approve,
    Paid { payout_reference: String },
}

impl Move {
    fn verb(&self) -> &'static str {
        match self {
            Move::Hold { .. } => "hold",
            Move::Release => "release",
            Move::Approve => "approve",
            Move::Paid { .. } => StatementStatus::Paid.as_str(),
        }
    }

    /// The statuses a statement may be in for this move.
    fn from(&self) -> &'static [StatementStatus] {
        match self {
            Move::Hold { .. } => &[StatementStatus::Closed, StatementStatus::Held],
            Move::Release => &[StatementStatus::Held],
            Move::Approve => &[StatementStatus::Closed],
            Move::Paid { .. } => &[StatementStatus::Approved],
        }
    }
}

/// Applies `change` to statement `id` for admin `caller`; the statement as it is now.
pub fn apply(conn: &mut DbConnection, caller: Caller, id: i64, change: Move) -> AppResult<StatementRow> {
    if !caller.is_admin() {
        return Err(AppError::forbidden("administrators only"));
    }
    write_tx(conn, |c| {
        let target = statements::table
            .filter(statements::id.eq(id))
            .filter(statements::status.eq_any(change.from().iter().map(|s| s.as_str())));
        let at = now();
        let moved: Option<StatementRow> = match &change {
            Move::Hold { reason } => diesel::update(target)
                .set((
                    statements::status.eq(StatementStatus::Held),
                    statements::hold_reason.eq(reason),
                ))
                .returning(statements::all_columns)
                .get_result(c)
                .optional()?,
            Move::Release => diesel::update(target)
                .set((
                    statements::status.eq(StatementStatus::Closed),
                    statements::hold_reason.eq(None::<String>),
                ))
                .returning(statements::all_columns)
                .get_result(c)
                .optional()?,
            Move::Approve => diesel::update(target)
                .set((
                    statements::status.eq(StatementStatus::Approved),
                    statements::approved_at.eq(at),
                ))
                .returning(statements::all_columns)
                .get_result(c)
                .optional()?,
            Move::Paid { payout_reference } => diesel::update(target)
                .set((
                    statements::status.eq(StatementStatus::Paid),
                    statements::paid_at.eq(at),
                    statements::payout_reference.eq(payout_reference),
                ))
                .returning(statements::all_columns)
                .get_result(c)
                .optional()?,
        };
        let Some(statement) = moved else {
            let status: Option<String> = statements::table
                .find(id)
                .select(statements::status)
                .first(c)
                .optional()?;
            return Err(match status {
                None => AppError::not_found(),
                Some(s) => AppError::invalid_state(format!("the statement is {s}; it cannot be {}", change.verb())),
            });
        };
        let note = match &change {
            Move::Hold { reason } => Some(reason.as_str()),
            Move::Paid { payout_reference } => Some(payout_reference.as_str()),
            _ => None,
        };
        audit::record(c, caller.id, AuditTarget::Statement, change.verb(), id, note)?;
        Ok(statement)
    })
}
