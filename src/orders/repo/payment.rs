//! Money moves recorded: paying an order (at once for a confirming provider, or
//! later by [`settle_payment`] when a pending one notifies), the `payments` row of
//! every movement, and [`MoneyStep`]: what differs between paying and refunding for
//! the handler's shared "look, ask the provider, record" dance.
//!
//! Paying is one write transaction: `pending_payment → paid` with a fresh
//! redemption code, the order's voucher `locked → used`, the report rollup counted,
//! the `payments` row inserted and the idempotent answer stored, all or nothing.

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use diesel::prelude::*;
use rand::Rng;

use super::lifecycle;
use super::queries::{own_order, refusal};
use crate::db::schema::{orders, payments, vouchers};
use crate::db::{is_unique_violation, write_tx, DbConnection};
use crate::error::{AppError, AppResult};
use crate::idempotency::Completion;
use crate::orders::models::{NewPayment, OrderRow, OrderStatus};
use crate::payments::{PaymentKind, PaymentStatus, ProviderAnswer, ProviderStatus};
use crate::reports::rollup::{self, CountedOrder};
use crate::time::now;
use crate::vouchers::status::VoucherStatus;

/// Redemption codes are drawn again on a collision at most this many times.
const CODE_ATTEMPTS: usize = 8;

/// A transaction that records a movement of money and moves the order:
/// (conn, time zone, user, order, provider name, the provider's answer, the
/// idempotent answer to store) → the moved order. [`pay`] or
/// [`lifecycle::refund`].
pub type RecordMovement =
    fn(&mut DbConnection, Tz, i64, i64, &str, &ProviderAnswer, Option<Completion<OrderRow>>) -> AppResult<OrderRow>;

/// What differs between paying an order and refunding it; the rest of the dance
/// (idempotency, look before moving money, the provider, the recording
/// transaction) is the same and lives in the handlers.
#[derive(Debug, Clone, Copy)]
pub struct MoneyStep {
    /// The status the order must be in.
    pub from: OrderStatus,
    /// The status it moves to (for the 409 detail and the transition metric).
    pub to: OrderStatus,
    pub kind: PaymentKind,
    /// The transaction that records the movement and moves the order.
    pub record: RecordMovement,
}

pub const PAY: MoneyStep = MoneyStep {
    from: OrderStatus::PendingPayment,
    to: OrderStatus::Paid,
    kind: PaymentKind::Payment,
    record: pay,
};

pub const REFUND: MoneyStep = MoneyStep {
    from: OrderStatus::Paid,
    to: OrderStatus::Refunded,
    kind: PaymentKind::Refund,
    record: lifecycle::refund,
};

fn redemption_code() -> String {
    format!("{:012}", rand::thread_rng().gen_range(0..1_000_000_000_000_u64))
}

/// What the report rollup counts of an order.
pub(super) fn counted(order: &OrderRow, paid_at: NaiveDateTime) -> CountedOrder {
    CountedOrder {
        merchant_id: order.merchant_id,
        campaign_id: order.campaign_id,
        paid_at,
        gross_fen: order.gross_fen,
        subsidy_fen: order.subsidy_fen,
        payable_fen: order.payable_fen,
    }
}

/// `pending_payment → paid` with a fresh redemption code, and the order's voucher
/// `locked → used`, counted in the report rollup. `None` when the order was not the
/// user's pending order. Must run inside a write transaction.
fn mark_paid(
    conn: &mut DbConnection,
    tz: Tz,
    order_id: i64,
    user_id: i64,
    now: NaiveDateTime,
) -> AppResult<Option<OrderRow>> {
    for _ in 0..CODE_ATTEMPTS {
        let code = redemption_code();
        // A savepoint: on PostgreSQL a failed statement would abort the whole transaction.
        let paid = conn.transaction(|c| {
            diesel::update(
                orders::table
                    .filter(orders::id.eq(order_id))
                    .filter(orders::user_id.eq(user_id))
                    .filter(orders::status.eq(OrderStatus::PendingPayment)),
            )
            .set((
                orders::status.eq(OrderStatus::Paid),
                orders::paid_at.eq(now),
                orders::redemption_code.eq(&code),
            ))
            .returning(orders::all_columns)
            .get_result::<OrderRow>(c)
            .optional()
        });
        let order = match paid {
            Ok(Some(order)) => order,
            Ok(None) => return Ok(None),
            Err(e) if is_unique_violation(&e) => continue,
            Err(e) => return Err(e.into()),
        };
        if let Some(voucher_id) = order.voucher_id {
            // A voucher locked by this order stays good for it even past expires_at.
            let used = diesel::update(
                vouchers::table
                    .filter(vouchers::id.eq(voucher_id))
                    .filter(vouchers::order_id.eq(order.id))
                    .filter(vouchers::status.eq(VoucherStatus::Locked)),
            )
            .set(vouchers::status.eq(VoucherStatus::Used))
            .execute(conn)?;
            if used != 1 {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "voucher {voucher_id} of order {order_id} was not locked by it"
                )));
            }
        }
        rollup::count_paid(conn, tz, &counted(&order, now))?;
        return Ok(Some(order));
    }
    Err(AppError::Internal(anyhow::anyhow!(
        "no free redemption code after {CODE_ATTEMPTS} draws"
    )))
}

/// Inserts the `payments` row of a movement of `order.payable_fen`.
pub(super) fn record_payment(
    conn: &mut DbConnection,
    order: &OrderRow,
    provider: &str,
    answer: &ProviderAnswer,
    kind: PaymentKind,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let confirmed = answer.status == ProviderStatus::Confirmed;
    diesel::insert_into(payments::table)
        .values(NewPayment {
            order_id: order.id,
            provider: provider.to_owned(),
            reference: answer.reference.clone(),
            amount_fen: order.payable_fen,
            kind,
            status: answer.status.row_status(),
            created_at: now,
            confirmed_at: confirmed.then_some(now),
        })
        .execute(conn)?;
    Ok(())
}

/// `POST /orders/{id}/pay`, after the provider answered. A confirmed payment pays
/// the order now; a pending one is recorded and the order waits for
/// [`settle_payment`].
pub fn pay(
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
        let order = match answer.status {
            ProviderStatus::Confirmed => mark_paid(c, tz, order_id, user_id, now)?,
            ProviderStatus::Pending => {
                Some(own_order(c, order_id, user_id)?).filter(|o| o.status == OrderStatus::PendingPayment)
            }
        };
        let Some(order) = order else {
            return Err(refusal(c, order_id, user_id, OrderStatus::Paid));
        };
        record_payment(c, &order, provider, answer, PaymentKind::Payment, now)?;
        if let Some(completion) = &completion {
            completion.store(c, &order)?;
        }
        Ok(order)
    })
}

/// A provider's (verified) notification that a pending payment succeeded or failed.
/// Pays the order on success, the same move a confirming provider makes at once.
/// Returns the order when this notification changed something; a repeated
/// notification changes nothing. A success for an order that is no longer payable
/// (cancelled meanwhile) is recorded and answered 409, for the provider to refund.
pub fn settle_payment(
    conn: &mut DbConnection,
    tz: Tz,
    provider: &str,
    reference: &str,
    succeeded: bool,
) -> AppResult<Option<OrderRow>> {
    write_tx(conn, |c| {
        let now = now();
        let outcome = if succeeded {
            PaymentStatus::Succeeded
        } else {
            PaymentStatus::Failed
        };
        let settled: Option<i64> = diesel::update(
            payments::table
                .filter(payments::provider.eq(provider))
                .filter(payments::reference.eq(reference))
                .filter(payments::kind.eq(PaymentKind::Payment))
                .filter(payments::status.eq(PaymentStatus::Pending)),
        )
        .set((payments::status.eq(outcome), payments::confirmed_at.eq(now)))
        .returning(payments::order_id)
        .get_result(c)
        .optional()?;
        let Some(order_id) = settled else {
            return Ok(None);
        };
        let order: OrderRow = orders::table.find(order_id).first(c)?;
        if !succeeded {
            return Ok(Some(order));
        }
        match mark_paid(c, tz, order_id, order.user_id, now)? {
            Some(paid) => Ok(Some(paid)),
            None => Err(AppError::invalid_state(format!(
                "order {order_id} is {}; the payment must be refunded",
                order.status
            ))),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redemption_codes_are_twelve_digits() {
        for _ in 0..100 {
            let code = redemption_code();
            assert_eq!(code.len(), 12);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
