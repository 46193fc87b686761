//! An order's moves after checkout, other than paying: the resident cancels an
//! unpaid order or refunds a paid one, the sweeper cancels an overdue one, and a
//! merchant's member redeems a paid one. Each is one write transaction whose
//! deciding statement is `UPDATE orders … WHERE id = ? AND status = <from>`; what
//! follows (stock back, voucher back or void, the rollup, the `payments` row, the
//! idempotent answer) commits with it or not at all.

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use diesel::prelude::*;

use super::payment::{counted, record_payment};
use super::queries::{redeem_refusal, refusal, require_member};
use crate::db::schema::{campaigns, offers, orders, vouchers};
use crate::db::{write_tx, DbConnection};
use crate::domain::Caller;
use crate::error::{AppError, AppResult};
use crate::idempotency::Completion;
use crate::orders::models::{OrderRow, OrderStatus};
use crate::payments::{PaymentKind, ProviderAnswer};
use crate::reports::rollup;
use crate::time::now;
use crate::vouchers::status::VoucherStatus;

/// Puts an order's quantity back (offers with unlimited stock have nothing to return).
fn give_back_stock(conn: &mut DbConnection, order: &OrderRow) -> QueryResult<()> {
    diesel::update(
        offers::table
            .filter(offers::id.eq(order.offer_id))
            .filter(offers::stock.is_not_null()),
    )
    .set(offers::stock.eq(offers::stock + order.quantity))
    .execute(conn)?;
    Ok(())
}

/// The voucher a cancelled order held goes back to `available` (it reads `expired`
/// if past `expires_at`).
fn release_locked_voucher(conn: &mut DbConnection, order: &OrderRow) -> AppResult<()> {
    let Some(voucher_id) = order.voucher_id else {
        return Ok(());
    };
    let released = diesel::update(
        vouchers::table
            .filter(vouchers::id.eq(voucher_id))
            .filter(vouchers::order_id.eq(order.id))
            .filter(vouchers::status.eq(VoucherStatus::Locked)),
    )
    .set((
        vouchers::status.eq(VoucherStatus::Available),
        vouchers::order_id.eq(None::<i64>),
    ))
    .execute(conn)?;
    if released != 1 {
        return Err(AppError::Internal(anyhow::anyhow!(
            "voucher {voucher_id} of order {} was not locked by it",
            order.id
        )));
    }
    Ok(())
}

/// `POST /orders/{id}/cancel`: `pending_payment → cancelled`, stock and voucher back.
pub fn cancel(conn: &mut DbConnection, user_id: i64, order_id: i64) -> AppResult<OrderRow> {
    write_tx(conn, |c| {
        let now = now();
        let cancelled = diesel::update(
            orders::table
                .filter(orders::id.eq(order_id))
                .filter(orders::user_id.eq(user_id))
                .filter(orders::status.eq(OrderStatus::PendingPayment)),
        )
        .set((orders::status.eq(OrderStatus::Cancelled), orders::cancelled_at.eq(now)))
        .returning(orders::all_columns)
        .get_result::<OrderRow>(c)
        .optional()?;
        let Some(order) = cancelled else {
            return Err(refusal(c, order_id, user_id, OrderStatus::Cancelled));
        };
        give_back_stock(c, &order)?;
        release_locked_voucher(c, &order)?;
        Ok(order)
    })
}

/// Up to `limit` ids of orders left unpaid past `payment_due_at` at `now`, after
/// id `after`, in id order: the sweeper's batches.
pub fn overdue(conn: &mut DbConnection, now: NaiveDateTime, after: i64, limit: i64) -> QueryResult<Vec<i64>> {
    orders::table
        .filter(orders::status.eq(OrderStatus::PendingPayment))
        .filter(orders::payment_due_at.le(now))
        .filter(orders::id.gt(after))
        .order(orders::id.asc())
        .select(orders::id)
        .limit(limit)
        .load(conn)
}

/// The sweeper's move: cancels one order left unpaid past `payment_due_at`. Returns
/// whether this call cancelled it (another sweeper, a payment or the resident may
/// have got there first: the conditional UPDATE decides).
pub fn cancel_overdue(conn: &mut DbConnection, order_id: i64, now: NaiveDateTime) -> AppResult<bool> {
    write_tx(conn, |c| {
        let cancelled = diesel::update(
            orders::table
                .filter(orders::id.eq(order_id))
                .filter(orders::status.eq(OrderStatus::PendingPayment))
                .filter(orders::payment_due_at.le(now)),
        )
        .set((orders::status.eq(OrderStatus::Cancelled), orders::cancelled_at.eq(now)))
        .returning(orders::all_columns)
        .get_result::<OrderRow>(c)
        .optional()?;
        let Some(order) = cancelled else {
            return Ok(false);
        };
        give_back_stock(c, &order)?;
        release_locked_voucher(c, &order)?;
        Ok(true)
    })
}

/// `POST /orders/{id}/refund`, after the provider answered: `paid → refunded`, stock
/// back, the rollup uncounted, the voucher either back to `available` (campaign
/// `refund_returns_voucher`, not past `expires_at`) or `void` with its face value
/// returned to the campaign's unreserved budget, and the refund's `payments` row.
pub fn refund(
    conn: &mut DbConnection,
    tz: Tz,
    user_id: i64,
    order_id: i64,
    provider: &str,
    answer: &ProviderAnswer,
    completion: Option<Completion<OrderRow>>,
) -> AppResult<OrderRow> {
    write_tx(conn, |c| {
        let now = now();
        let refunded = diesel::update(
            orders::table
                .filter(orders::id.eq(order_id))
                .filter(orders::user_id.eq(user_id))
                .filter(orders::status.eq(OrderStatus::Paid)),
        )
        .set((orders::status.eq(OrderStatus::Refunded), orders::refunded_at.eq(now)))
        .returning(orders::all_columns)
        .get_result::<OrderRow>(c)
        .optional()?;
        let Some(order) = refunded else {
            return Err(refusal(c, order_id, user_id, OrderStatus::Refunded));
        };
        give_back_stock(c, &order)?;
        let paid_at = order
            .paid_at
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("paid order {order_id} has no paid_at")))?;
        rollup::uncount_refunded(c, tz, &counted(&order, paid_at))?;
        if let (Some(voucher_id), Some(campaign_id)) = (order.voucher_id, order.campaign_id) {
            settle_refunded_voucher(c, &order, voucher_id, campaign_id, now)?;
        }
        record_payment(c, &order, provider, answer, PaymentKind::Refund, now)?;
        if let Some(completion) = &completion {
            completion.store(c, &order)?;
        }
        Ok(order)
    })
}

fn settle_refunded_voucher(
    conn: &mut DbConnection,
    order: &OrderRow,
    voucher_id: i64,
    campaign_id: i64,
    now: NaiveDateTime,
) -> AppResult<()> {
    let returns_voucher: bool = campaigns::table
        .find(campaign_id)
        .select(campaigns::refund_returns_voucher)
        .first(conn)?;
    let used_by_order = vouchers::table
        .filter(vouchers::id.eq(voucher_id))
        .filter(vouchers::order_id.eq(order.id))
        .filter(vouchers::status.eq(VoucherStatus::Used));
    if returns_voucher {
        let returned = diesel::update(used_by_order.filter(vouchers::expires_at.gt(now)))
            .set((
                vouchers::status.eq(VoucherStatus::Available),
                vouchers::order_id.eq(None::<i64>),
            ))
            .execute(conn)?;
        if returned == 1 {
            return Ok(());
        }
    }
    // Forfeited: the voucher stays pointing at the order it was spent on.
    let discount_fen: i64 = diesel::update(used_by_order)
        .set(vouchers::status.eq(VoucherStatus::Void))
        .returning(vouchers::discount_fen)
        .get_result(conn)
        .optional()?
        .ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "voucher {voucher_id} of refunded order {} was not used by it",
                order.id
            ))
        })?;
    let freed = diesel::update(
        campaigns::table
            .filter(campaigns::id.eq(campaign_id))
            .filter(campaigns::reserved_fen.ge(discount_fen)),
    )
    .set(campaigns::reserved_fen.eq(campaigns::reserved_fen - discount_fen))
    .execute(conn)?;
    if freed != 1 {
        return Err(AppError::Internal(anyhow::anyhow!(
            "campaign {campaign_id} reserves less than voucher {voucher_id}'s face value"
        )));
    }
    Ok(())
}

/// `POST /merchants/{id}/redemptions`: `paid → redeemed` for the order of this
/// merchant with this code, by one of its members.
pub fn redeem(conn: &mut DbConnection, merchant_id: i64, caller: Caller, code: &str) -> AppResult<OrderRow> {
    write_tx(conn, |c| {
        require_member(c, merchant_id, caller)?;
        let redeemed = diesel::update(
            orders::table
                .filter(orders::redemption_code.eq(code))
                .filter(orders::merchant_id.eq(merchant_id))
                .filter(orders::status.eq(OrderStatus::Paid)),
        )
        .set((orders::status.eq(OrderStatus::Redeemed), orders::redeemed_at.eq(now())))
        .returning(orders::all_columns)
        .get_result::<OrderRow>(c)
        .optional()?;
        match redeemed {
            Some(order) => Ok(order),
            None => Err(redeem_refusal(c, merchant_id, code)),
        }
    })
}
