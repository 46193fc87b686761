//! `POST /admin/orders/{id}/reverse`: a redeemed order found fraudulent becomes
//! `reversed`, in one write transaction that
//! 1. moves it by a conditional UPDATE (`WHERE status = 'redeemed'`), so of two
//!    racing reversals one wins and the other is 409 `invalid_state`;
//! 2. takes it out of the report rollup (as a refund does), so it leaves every report;
//! 3. writes the audit row `order.reverse` with the reason;
//! 4. when the order already stands on a closed statement, writes a pending clawback
//!    line (its subsidy, negative) that the merchant's next statement takes.
//!
//! The voucher stays `used`: a fraudulent redemption does not give it back.

use chrono_tz::Tz;
use diesel::prelude::*;

use crate::audit::{self, AuditTarget};
use crate::db::schema::{orders, statement_lines};
use crate::db::{write_tx, DbConnection};
use crate::domain::Caller;
use crate::error::{AppError, AppResult};
use crate::orders::models::{OrderRow, OrderStatus};
use crate::reports::rollup::{self, CountedOrder};
use crate::statements::models::{NewLine, StatementLineKind};
use crate::time::now;

/// Reverses order `order_id` for admin `caller`; the order as it is now.
pub fn reverse(conn: &mut DbConnection, tz: Tz, caller: Caller, order_id: i64, reason: &str) -> AppResult<OrderRow> {
    if !caller.is_admin() {
        return Err(AppError::forbidden("administrators only"));
    }
    write_tx(conn, |c| {
        let reversed: Option<OrderRow> = diesel::update(
            orders::table
                .filter(orders::id.eq(order_id))
                .filter(orders::status.eq(OrderStatus::Redeemed)),
        )
        .set(orders::status.eq(OrderStatus::Reversed))
        .returning(orders::all_columns)
        .get_result(c)
        .optional()?;
        let Some(order) = reversed else {
            let status: Option<String> = orders::table
                .find(order_id)
                .select(orders::status)
                .first(c)
                .optional()?;
            return Err(match status {
                None => AppError::not_found(),
                Some(s) => AppError::invalid_state(format!("the order is {s}; only a redeemed order can be reversed")),
            });
        };
        let paid_at = order
            .paid_at
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("redeemed order {order_id} has no paid_at")))?;
        // The rollup counts paid and redeemed orders; a reversed one leaves it exactly
        // as a refunded one does.
        rollup::uncount_refunded(
            c,
            tz,
            &CountedOrder {
                merchant_id: order.merchant_id,
                campaign_id: order.campaign_id,
                paid_at,
                gross_fen: order.gross_fen,
                subsidy_fen: order.subsidy_fen,
                payable_fen: order.payable_fen,
            },
        )?;
        audit::record(c, caller.id, AuditTarget::Order, "reverse", order_id, Some(reason))?;
        let on_statement: bool = diesel::select(diesel::dsl::exists(
            statement_lines::table
                .filter(statement_lines::order_id.eq(order_id))
                .filter(statement_lines::kind.eq(StatementLineKind::Subsidy)),
        ))
        .get_result(c)?;
        if on_statement {
            diesel::insert_into(statement_lines::table)
                .values(NewLine {
                    statement_id: None,
                    merchant_id: order.merchant_id,
                    order_id,
                    kind: StatementLineKind::Clawback,
                    amount_fen: -order.subsidy_fen,
                    redeemed_at: order.redeemed_at,
                    created_at: now(),
                })
                .execute(c)?;
        }
        // The merchant's webhooks learn of it in the same transaction (API.md, Webhooks).
        crate::orders::events::record(c, &order, crate::webhooks::models::EventType::OrderReversed)?;
        Ok(order)
    })
}
