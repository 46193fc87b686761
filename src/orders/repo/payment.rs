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
use super::queries::{invalid_move, own_order, refusal};
use crate::campaigns::models::CampaignStatus;
use crate::db::schema::{campaigns, merchants, orders, payments, vouchers};
use crate::db::{is_unique_violation, write_tx, DbConnection};
use crate::error::{AppError, AppResult, Code};
use crate::idempotency::Completion;
use crate::merchants::models::MerchantStatus;
use crate::orders::events;
use crate::orders::models::{NewPayment, OrderRow, OrderStatus};
use crate::payments::{PaymentKind, PaymentStatus, ProviderAnswer, ProviderStatus};
use crate::reports::rollup::{self, CountedOrder};
use crate::time::now;
use crate::vouchers::status::VoucherStatus;
use crate::webhooks::models::EventType;

/// Redemption codes are drawn again on a collision at most this many times.
const CODE_ATTEMPTS: usize = 8;

/// A transaction that records a movement of money and moves the order:
/// (conn, time zone, user, order, provider name, the provider's answer, the
/// idempotent answer to store) → the moved order. [`pay`] or
/// [`lifecycle::refund`].
pub type RecordMovement =
    fn(&mut DbConnection, Tz, i64, i64, &str, &ProviderAnswer, Option<Completion<OrderRow>>) -> AppResult<OrderRow>;

/// The look before the provider is asked: (conn, user, order) → the order to move,
/// or the refusal. [`open_payment`] or [`open_refund`].
pub type OpenMovement = fn(&mut DbConnection, i64, i64) -> AppResult<OrderRow>;

/// What differs between paying an order and refunding it; the rest of the dance
/// (idempotency, look before moving money, the provider, the recording
/// transaction) is the same and lives in the handlers.
#[derive(Debug, Clone, Copy)]
pub struct MoneyStep {
    /// The status it moves to (for the 409 detail and the transition metric).
    pub to: OrderStatus,
    pub kind: PaymentKind,
    /// The look before the provider is asked.
    pub open: OpenMovement,
    /// The transaction that records the movement and moves the order.
    pub record: RecordMovement,
}

pub const PAY: MoneyStep = MoneyStep {
    to: OrderStatus::Paid,
    kind: PaymentKind::Payment,
    open: open_payment,
    record: pay,
};

pub const REFUND: MoneyStep = MoneyStep {
    to: OrderStatus::Refunded,
    kind: PaymentKind::Refund,
    open: open_refund,
    record: lifecycle::refund,
};

/// A claim on an order's money older than this is presumed abandoned (the instance
/// died while the provider was asked) and may be taken again.
pub const CLAIM_STALE_SECONDS: i64 = 120;

/// Claims older than this instant are stale.
pub(super) fn stale_before(now: NaiveDateTime) -> NaiveDateTime {
    now - chrono::Duration::seconds(CLAIM_STALE_SECONDS)
}

/// Before a charge, one write transaction whose deciding statement is a conditional
/// UPDATE that claims the order's money (`money_in_flight_at`, so one movement per
/// order at a time: of two parallel pay calls exactly one reaches the provider) if
/// the caller's order is `pending_payment`, inside its payment window, not claimed,
/// its merchant still `approved` and its campaign (if it has a voucher) still
/// `active` and inside its dates. The reads after a refusal only choose the answer:
/// - not the caller's: 404; not pending payment: 409 `invalid_state`;
/// - past `payment_due_at`: the order is cancelled here, in this transaction (stock
///   and voucher back), whether or not a sweeper runs, and 409 `invalid_state`;
/// - another payment of it in progress: 409 `invalid_state`;
/// - merchant suspended since the order was placed: 409 `offer_unavailable`;
/// - campaign paused or ended since: 422 `voucher_not_applicable`.
///
/// The order stays `pending_payment` on the last two (the resident may cancel it,
/// or pay once the campaign resumes). Once the provider has taken the money the
/// payment is honoured: the checks are made before money moves, never after.
pub fn open_payment(conn: &mut DbConnection, user_id: i64, order_id: i64) -> AppResult<OrderRow> {
    // A refusal of an overdue order must commit its cancellation, so the
    // transaction succeeds with the refusal inside.
    write_tx(conn, |c| -> AppResult<AppResult<OrderRow>> {
        let now = now();
        let approved = merchants::table
            .filter(merchants::status.eq(MerchantStatus::Approved))
            .select(merchants::id);
        let running = campaigns::table
            .filter(campaigns::status.eq(CampaignStatus::Active))
            .filter(campaigns::starts_at.le(now))
            .filter(campaigns::ends_at.gt(now))
            .select(campaigns::id.nullable());
        let claimed = diesel::update(
            orders::table
                .filter(orders::id.eq(order_id))
                .filter(orders::user_id.eq(user_id))
                .filter(orders::status.eq(OrderStatus::PendingPayment))
                .filter(orders::payment_due_at.gt(now))
                .filter(
                    orders::money_in_flight_at
                        .is_null()
                        .or(orders::money_in_flight_at.lt(stale_before(now))),
                )
                .filter(orders::merchant_id.eq_any(approved))
                .filter(orders::campaign_id.is_null().or(orders::campaign_id.eq_any(running))),
        )
        .set(orders::money_in_flight_at.eq(now))
        .returning(orders::all_columns)
        .get_result::<OrderRow>(c)
        .optional()?;
        if let Some(order) = claimed {
            return Ok(Ok(order));
        }
        let order = own_order(c, order_id, user_id)?;
        if order.status != OrderStatus::PendingPayment {
            return Ok(Err(invalid_move(order.status, OrderStatus::Paid)));
        }
        if order.payment_due_at <= now {
            if lifecycle::cancel_overdue_within(c, order_id, now)? {
                return Ok(Err(AppError::invalid_state(
                    "the payment window of this order has closed: it is cancelled, its stock and voucher returned",
                )));
            }
            // Someone else moved it meanwhile (the sweeper, a cancel): say what it is now.
            let order = own_order(c, order_id, user_id)?;
            if order.status != OrderStatus::PendingPayment {
                return Ok(Err(invalid_move(order.status, OrderStatus::Paid)));
            }
            return Ok(Err(in_progress()));
        }
        if order.money_in_flight_at.is_some_and(|at| at >= stale_before(now)) {
            return Ok(Err(in_progress()));
        }
        let merchant: String = merchants::table
            .find(order.merchant_id)
            .select(merchants::status)
            .first(c)?;
        if MerchantStatus::parse(&merchant) != Some(MerchantStatus::Approved) {
            return Ok(Err(AppError::new(
                Code::OfferUnavailable,
                "the merchant of this order is no longer approved: it cannot be paid (cancel it)",
            )));
        }
        if order.campaign_id.is_none() {
            // Every condition holds again: the order changed between the claim and now.
            return Ok(Err(in_progress()));
        }
        Ok(Err(AppError::new(
            Code::VoucherNotApplicable,
            "the campaign of this order's voucher is no longer active: it cannot be paid now (cancel it, or pay when the campaign resumes)",
        )))
    })?
}

fn in_progress() -> AppError {
    AppError::invalid_state("a payment or refund of this order is in progress; try again shortly")
}

/// Before a refund: claims the caller's paid order's money (as [`open_payment`]
/// does), 409 `invalid_state` when it is not paid or another movement is in progress.
pub fn open_refund(conn: &mut DbConnection, user_id: i64, order_id: i64) -> AppResult<OrderRow> {
    write_tx(conn, |c| {
        let now = now();
        let claimed = diesel::update(
            orders::table
                .filter(orders::id.eq(order_id))
                .filter(orders::user_id.eq(user_id))
                .filter(orders::status.eq(OrderStatus::Paid))
                .filter(
                    orders::money_in_flight_at
                        .is_null()
                        .or(orders::money_in_flight_at.lt(stale_before(now))),
                ),
        )
        .set(orders::money_in_flight_at.eq(now))
        .returning(orders::all_columns)
        .get_result::<OrderRow>(c)
        .optional()?;
        if let Some(order) = claimed {
            return Ok(order);
        }
        let order = own_order(c, order_id, user_id)?;
        if order.status != OrderStatus::Paid {
            return Err(invalid_move(order.status, OrderStatus::Refunded));
        }
        Err(in_progress())
    })
}

/// Gives up the claim `open_*` took (the provider failed, or recording failed), so
/// the resident may try again; our order-derived reference keeps a retry from moving
/// money twice at a real provider.
pub fn release_claim(conn: &mut DbConnection, order_id: i64, claimed_at: NaiveDateTime) -> AppResult<()> {
    diesel::update(
        orders::table
            .filter(orders::id.eq(order_id))
            .filter(orders::money_in_flight_at.eq(claimed_at)),
    )
    .set(orders::money_in_flight_at.eq(None::<NaiveDateTime>))
    .execute(conn)?;
    Ok(())
}

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
                orders::money_in_flight_at.eq(None::<NaiveDateTime>),
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
        events::record(conn, &order, EventType::OrderPaid)?;
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
            // The claim taken when the payment was started ends with it.
            diesel::update(orders::table.find(order_id))
                .set(orders::money_in_flight_at.eq(None::<NaiveDateTime>))
                .execute(c)?;
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
