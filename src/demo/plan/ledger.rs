//! Stage 5: the drafts become rows. Orders get ids in time order; each claimed
//! voucher takes the state its order leaves it in (and a voided one's face value
//! goes back to its campaign's budget); paid orders get their payment, refunded
//! ones their refund too.

use chrono::{Duration, NaiveDateTime};

use super::campaigns::Claim;
use super::clock::Clock;
use super::orders::{Draft, Market};
use crate::demo::rows::{Campaign, Order, Payment, Voucher};
use crate::orders::models::OrderStatus;
use crate::payments::{PaymentKind, PaymentStatus};
use crate::vouchers::status::VoucherStatus;

/// What this stage makes.
pub struct Books {
    pub vouchers: Vec<Voucher>,
    pub orders: Vec<Order>,
    pub payments: Vec<Payment>,
}

/// The payment provider the demo's payments went through.
pub const PROVIDER: &str = "sandbox";

/// A bijection on 0..10^12 (the multiplier is prime, not 2 or 5): distinct ids give
/// distinct, unsequential-looking 12-digit codes.
/// The 12-digit redemption code of demo order `id`: distinct for distinct ids (the
/// multiplier is coprime to 10^12), so later demo stages can continue the ids.
pub fn redemption_code(id: i64) -> String {
    scramble(id, 735_632_791, 900_000_000_007)
}

fn scramble(id: i64, multiplier: i64, offset: i64) -> String {
    let m: i128 = 1_000_000_000_000;
    format!(
        "{:012}",
        ((id as i128 * multiplier as i128 + offset as i128) % m + m) % m
    )
}

/// The state a claimed voucher is left in by the order that spent it (if any), and
/// whether it still points at that order.
fn voucher_state(
    order: Option<&Draft>,
    campaign: &Campaign,
    expires_at: NaiveDateTime,
    now: NaiveDateTime,
) -> (VoucherStatus, bool) {
    let Some(order) = order else {
        return (VoucherStatus::Available, false);
    };
    match order.life.status {
        OrderStatus::PendingPayment => (VoucherStatus::Locked, true),
        // A reversed order (fraud) keeps the voucher it spent.
        OrderStatus::Paid | OrderStatus::Redeemed | OrderStatus::Reversed => (VoucherStatus::Used, true),
        OrderStatus::Refunded if campaign.refund_returns_voucher && expires_at > now => {
            (VoucherStatus::Available, false)
        }
        OrderStatus::Refunded => (VoucherStatus::Void, true),
        OrderStatus::Cancelled => (VoucherStatus::Available, false),
    }
}

/// Numbers the drafts and writes the vouchers, orders and payments; lowers the
/// campaigns' `reserved_fen` by their voided vouchers.
pub fn write_down(
    clock: &Clock,
    market: &Market,
    claims: &[Claim],
    drafts: &[Draft],
    campaigns: &mut [Campaign],
    payment_timeout: Duration,
) -> Books {
    // Ids in time order (claims are sorted already).
    let mut draft_order: Vec<usize> = (0..drafts.len()).collect();
    draft_order.sort_by_key(|&d| drafts[d].created_at);
    let mut order_id_of = vec![0i64; drafts.len()];
    for (position, &d) in draft_order.iter().enumerate() {
        order_id_of[d] = position as i64 + 1;
    }

    let mut vouchers: Vec<Voucher> = Vec::with_capacity(claims.len());
    for (ci, claim) in claims.iter().enumerate() {
        let batch = &market.batches[claim.batch];
        let id = ci as i64 + 1;
        let campaign = &campaigns[(batch.campaign_id - 1) as usize];
        let (status, linked) = voucher_state(claim.order.map(|d| &drafts[d]), campaign, claim.expires_at, clock.now);
        vouchers.push(Voucher {
            id,
            code: scramble(id, 982_451_653, 4_321),
            batch_id: batch.id,
            campaign_id: batch.campaign_id,
            user_id: claim.user_id,
            slot: claim.slot,
            discount_fen: batch.discount_fen,
            min_spend_fen: batch.min_spend_fen,
            status,
            claimed_at: claim.claimed_at,
            expires_at: claim.expires_at,
            order_id: claim.order.filter(|_| linked).map(|d| order_id_of[d]),
        });
    }
    // A voided voucher's face value goes back to its campaign's unreserved budget.
    for v in vouchers.iter().filter(|v| v.status == VoucherStatus::Void) {
        campaigns[(v.campaign_id - 1) as usize].reserved_fen -= v.discount_fen;
    }

    let mut orders = Vec::with_capacity(drafts.len());
    let mut payments = Vec::new();
    for &d in &draft_order {
        let draft = &drafts[d];
        let life = &draft.life;
        let id = order_id_of[d];
        let offer = &market.offers[draft.offer];
        let gross_fen = offer.price_fen * draft.quantity;
        let voucher = draft.claim.map(|ci| &vouchers[ci]);
        let subsidy_fen = voucher.map(|v| v.discount_fen).unwrap_or(0);
        if let Some(paid_at) = life.paid_at {
            payments.push(Payment {
                id: payments.len() as i64 + 1,
                order_id: id,
                provider: PROVIDER,
                reference: format!("demo-pay-{id}"),
                amount_fen: gross_fen - subsidy_fen,
                kind: PaymentKind::Payment,
                status: PaymentStatus::Succeeded,
                created_at: paid_at - Duration::seconds(5),
                confirmed_at: Some(paid_at),
            });
        }
        if let Some(refunded_at) = life.refunded_at {
            payments.push(Payment {
                id: payments.len() as i64 + 1,
                order_id: id,
                provider: PROVIDER,
                reference: format!("demo-refund-{id}"),
                amount_fen: gross_fen - subsidy_fen,
                kind: PaymentKind::Refund,
                status: PaymentStatus::Succeeded,
                created_at: refunded_at,
                confirmed_at: Some(refunded_at),
            });
        }
        orders.push(Order {
            id,
            user_id: draft.user_id,
            merchant_id: market.picks[draft.merchant].id,
            offer_id: offer.id,
            quantity: draft.quantity,
            voucher_id: voucher.map(|v| v.id),
            campaign_id: voucher.map(|v| v.campaign_id),
            gross_fen,
            subsidy_fen,
            payable_fen: gross_fen - subsidy_fen,
            status: life.status,
            redemption_code: life.paid_at.map(|_| redemption_code(id)),
            created_at: draft.created_at,
            payment_due_at: draft.created_at + payment_timeout,
            paid_at: life.paid_at,
            redeemed_at: life.redeemed_at,
            cancelled_at: life.cancelled_at,
            refunded_at: life.refunded_at,
        });
    }
    Books {
        vouchers,
        orders,
        payments,
    }
}
