//! Orders in the database. Every function that moves money, stock or a voucher is
//! one write transaction whose deciding statement is a conditional UPDATE; reads
//! made before it only choose which error a refusal gets.
//!
//! `POST /orders` checks, in this order (the first failure answers):
//! 1. the offer exists and the caller may see it, else 404 (an offer of a merchant
//!    that was never approved is invisible to all but its members);
//! 2. the offer is `active` and its merchant `approved`, else 409 `offer_unavailable`;
//! 3. with a voucher: it is the caller's (else 409 `voucher_unavailable`, exactly as
//!    for a voucher that does not exist, so nobody learns of another's voucher), and
//!    stored `available` with `expires_at` in the future (else 409
//!    `voucher_unavailable`);
//! 4. with a voucher, 422 `voucher_not_applicable` when: the caller is a member of
//!    the offer's merchant (self-dealing), the campaign is not `active` or now is
//!    outside `[starts_at, ends_at)`, the merchant's category or district is not
//!    eligible, the gross is below the min spend, or the discount exceeds the gross
//!    (possible only with a min spend of 0; `payable_fen` is never negative);
//! 5. the stock covers the quantity, else 409 `out_of_stock`.
//!
//! Then the writes, each conditional: lock the voucher (`status = 'available' AND
//! expires_at > now`), take the stock (`status = 'active' AND (stock IS NULL OR
//! stock >= q)` for an approved merchant, returning the price it sold at), insert
//! the order, point the voucher at it. A conditional write that finds nothing to
//! change rolls the whole transaction back with the error the state now calls for.

use chrono::{Duration, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use rand::Rng;

use super::dto::OrderDto;
use super::models::{NewOrder, NewPayment, OfferForSale, OrderRow, VoucherForOrder};
use crate::auth::AuthUser;
use crate::db::is_unique_violation;
use crate::db::schema::{campaigns, merchant_members, merchants, offers, orders, payments, vouchers};
use crate::db::{write_tx, DbConnection};
use crate::error::{AppError, AppResult, Code};
use crate::http::PageRequest;
use crate::idempotency::Claim;
use crate::payments::{PaymentKind, ProviderAnswer, ProviderStatus};
use crate::reports::rollup::{self, CountedOrder};
use crate::time::now;

use actix_web::http::StatusCode;

/// Every order status, in the order of the life of an order.
pub const STATUSES: &[&str] = &["pending_payment", "paid", "redeemed", "cancelled", "refunded"];

/// Redemption codes are drawn again on a collision at most this many times.
const CODE_ATTEMPTS: usize = 8;

/// What a resident asks for in `POST /orders`.
#[derive(Debug, Clone, Copy)]
pub struct OrderRequest {
    pub user_id: i64,
    pub offer_id: i64,
    pub quantity: i64,
    pub voucher_id: Option<i64>,
    /// Seconds the order may stay unpaid (config `orders.payment_timeout`).
    pub payment_timeout: i64,
}

fn offer_unavailable() -> AppError {
    AppError::new(Code::OfferUnavailable, "this offer is not on sale")
}

fn voucher_unavailable() -> AppError {
    AppError::new(Code::VoucherUnavailable, "this voucher is not available to you")
}

fn not_applicable(detail: &str) -> AppError {
    AppError::new(Code::VoucherNotApplicable, detail)
}

fn out_of_stock() -> AppError {
    AppError::new(Code::OutOfStock, "not enough left of this offer")
}

pub fn is_member(conn: &mut DbConnection, merchant_id: i64, user_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        merchant_members::table
            .filter(merchant_members::merchant_id.eq(merchant_id))
            .filter(merchant_members::user_id.eq(user_id)),
    ))
    .get_result(conn)
}

fn offer_for_sale(conn: &mut DbConnection, offer_id: i64) -> QueryResult<Option<OfferForSale>> {
    offers::table
        .inner_join(merchants::table)
        .filter(offers::id.eq(offer_id))
        .select((
            offers::id,
            offers::merchant_id,
            offers::price_fen,
            offers::stock,
            offers::status,
            merchants::status,
            merchants::category,
            merchants::district,
        ))
        .first(conn)
        .optional()
}

/// The caller's voucher with its campaign; another's voucher is simply not found.
fn own_voucher(conn: &mut DbConnection, voucher_id: i64, user_id: i64) -> QueryResult<Option<VoucherForOrder>> {
    vouchers::table
        .inner_join(campaigns::table)
        .filter(vouchers::id.eq(voucher_id))
        .filter(vouchers::user_id.eq(user_id))
        .select((
            vouchers::id,
            vouchers::campaign_id,
            vouchers::discount_fen,
            vouchers::min_spend_fen,
            vouchers::status,
            vouchers::expires_at,
            campaigns::status,
            campaigns::starts_at,
            campaigns::ends_at,
            campaigns::eligible_categories,
            campaigns::eligible_districts,
        ))
        .first(conn)
        .optional()
}

/// Whether `value` is in a stored comma-separated eligibility list (empty = all).
fn eligible(list: &str, value: &str) -> bool {
    let mut items = list.split(',').map(str::trim).filter(|s| !s.is_empty()).peekable();
    items.peek().is_none() || items.any(|item| item == value)
}

/// Everything about a voucher's fit to this purchase except the amounts.
fn check_voucher_fits(
    voucher: &VoucherForOrder,
    offer: &OfferForSale,
    buyer_is_member: bool,
    now: NaiveDateTime,
) -> AppResult<()> {
    if buyer_is_member {
        return Err(not_applicable(
            "members of a merchant cannot use vouchers at their own merchant",
        ));
    }
    if voucher.campaign_status != "active" || now < voucher.starts_at || now >= voucher.ends_at {
        return Err(not_applicable("the voucher's campaign is not active"));
    }
    if !eligible(&voucher.eligible_categories, &offer.category) {
        return Err(not_applicable("the campaign does not cover this merchant's category"));
    }
    if !eligible(&voucher.eligible_districts, &offer.district) {
        return Err(not_applicable("the campaign does not cover this merchant's district"));
    }
    Ok(())
}

/// `(gross, subsidy, payable)` in fen, checked.
fn amounts(price_fen: i64, quantity: i64, voucher: Option<&VoucherForOrder>) -> AppResult<(i64, i64, i64)> {
    let gross = price_fen
        .checked_mul(quantity)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("gross overflows: {price_fen} x {quantity}")))?;
    let Some(voucher) = voucher else {
        return Ok((gross, 0, gross));
    };
    if gross < voucher.min_spend_fen {
        return Err(not_applicable("the order is below the voucher's minimum spend"));
    }
    match gross.checked_sub(voucher.discount_fen) {
        Some(payable) if payable >= 0 => Ok((gross, voucher.discount_fen, payable)),
        _ => Err(not_applicable("the voucher's discount exceeds the order's value")),
    }
}

/// Takes `quantity` from the offer's stock if it is on sale and has enough;
/// returns the price it sold at, or `None` when nothing was taken.
fn take_stock(conn: &mut DbConnection, offer_id: i64, quantity: i64) -> QueryResult<Option<i64>> {
    let approved = merchants::table
        .filter(merchants::status.eq("approved"))
        .select(merchants::id);
    diesel::update(
        offers::table
            .filter(offers::id.eq(offer_id))
            .filter(offers::status.eq("active"))
            .filter(offers::stock.is_null().or(offers::stock.ge(quantity)))
            .filter(offers::merchant_id.eq_any(approved)),
    )
    .set(offers::stock.eq(offers::stock - quantity))
    .returning(offers::price_fen)
    .get_result(conn)
    .optional()
}

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
            .filter(vouchers::status.eq("locked")),
    )
    .set((vouchers::status.eq("available"), vouchers::order_id.eq(None::<i64>)))
    .execute(conn)?;
    if released != 1 {
        return Err(AppError::Internal(anyhow::anyhow!(
            "voucher {voucher_id} of order {} was not locked by it",
            order.id
        )));
    }
    Ok(())
}

/// `POST /orders` (see the module doc for the checks and their order).
pub fn create(conn: &mut DbConnection, request: OrderRequest, claim: Option<Claim>) -> AppResult<OrderRow> {
    let OrderRequest {
        user_id,
        offer_id,
        quantity,
        voucher_id,
        payment_timeout,
    } = request;
    write_tx(conn, |c| {
        let now = now();
        let offer = offer_for_sale(c, offer_id)?.ok_or_else(AppError::not_found)?;
        let member = is_member(c, offer.merchant_id, user_id)?;
        let ever_public = matches!(offer.merchant_status.as_str(), "approved" | "suspended");
        if !ever_public && !member {
            return Err(AppError::not_found());
        }
        if offer.status != "active" || offer.merchant_status != "approved" {
            return Err(offer_unavailable());
        }
        let voucher = match voucher_id {
            None => None,
            Some(id) => {
                let voucher = own_voucher(c, id, user_id)?.ok_or_else(voucher_unavailable)?;
                if voucher.status != "available" || voucher.expires_at <= now {
                    return Err(voucher_unavailable());
                }
                check_voucher_fits(&voucher, &offer, member, now)?;
                amounts(offer.price_fen, quantity, Some(&voucher))?;
                Some(voucher)
            }
        };
        if offer.stock.is_some_and(|stock| stock < quantity) {
            return Err(out_of_stock());
        }

        if let Some(voucher) = &voucher {
            let locked = diesel::update(
                vouchers::table
                    .filter(vouchers::id.eq(voucher.id))
                    .filter(vouchers::user_id.eq(user_id))
                    .filter(vouchers::status.eq("available"))
                    .filter(vouchers::expires_at.gt(now)),
            )
            .set(vouchers::status.eq("locked"))
            .execute(c)?;
            if locked != 1 {
                return Err(voucher_unavailable());
            }
        }
        let Some(price_fen) = take_stock(c, offer_id, quantity)? else {
            // Someone else got there first: say what the offer's state now is.
            let now_offer = offer_for_sale(c, offer_id)?.ok_or_else(AppError::not_found)?;
            return Err(
                if now_offer.status != "active" || now_offer.merchant_status != "approved" {
                    offer_unavailable()
                } else {
                    out_of_stock()
                },
            );
        };
        // The price the stock was taken at (an owner may have changed it meanwhile).
        let (gross_fen, subsidy_fen, payable_fen) = amounts(price_fen, quantity, voucher.as_ref())?;
        let order: OrderRow = diesel::insert_into(orders::table)
            .values(NewOrder {
                user_id,
                merchant_id: offer.merchant_id,
                offer_id,
                quantity,
                voucher_id: voucher.as_ref().map(|v| v.id),
                campaign_id: voucher.as_ref().map(|v| v.campaign_id),
                gross_fen,
                subsidy_fen,
                payable_fen,
                status: "pending_payment",
                created_at: now,
                payment_due_at: now + Duration::seconds(payment_timeout),
            })
            .returning(orders::all_columns)
            .get_result(c)?;
        if let Some(voucher) = &voucher {
            diesel::update(vouchers::table.filter(vouchers::id.eq(voucher.id)))
                .set(vouchers::order_id.eq(order.id))
                .execute(c)?;
        }
        if let Some(claim) = claim {
            claim.complete(c, StatusCode::CREATED, &OrderDto::for_viewer(&order, user_id))?;
        }
        Ok(order)
    })
}

/// The caller's own order; anybody else's is not found.
pub fn own_order(conn: &mut DbConnection, order_id: i64, user_id: i64) -> AppResult<OrderRow> {
    orders::table
        .filter(orders::id.eq(order_id))
        .filter(orders::user_id.eq(user_id))
        .first(conn)
        .optional()?
        .ok_or_else(AppError::not_found)
}

/// Why a conditional move of the caller's order changed nothing: 404 when it is not
/// theirs, else 409 `invalid_state` naming its status.
fn refusal(conn: &mut DbConnection, order_id: i64, user_id: i64, wanted: &str) -> AppError {
    match own_order(conn, order_id, user_id) {
        Ok(order) => AppError::invalid_state(format!("the order is {}, it cannot be {wanted}", order.status)),
        Err(error) => error,
    }
}

fn redemption_code() -> String {
    format!("{:012}", rand::thread_rng().gen_range(0..1_000_000_000_000_u64))
}

/// What the report rollup counts of an order.
fn counted(order: &OrderRow, paid_at: NaiveDateTime) -> CountedOrder {
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
                    .filter(orders::status.eq("pending_payment")),
            )
            .set((
                orders::status.eq("paid"),
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
                    .filter(vouchers::status.eq("locked")),
            )
            .set(vouchers::status.eq("used"))
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

fn record_payment(
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
            provider,
            reference: &answer.reference,
            amount_fen: order.payable_fen,
            kind: kind.as_str(),
            status: answer.status.row_status().as_str(),
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
    claim: Option<Claim>,
) -> AppResult<OrderRow> {
    write_tx(conn, |c| {
        let now = now();
        let order = match answer.status {
            ProviderStatus::Confirmed => mark_paid(c, tz, order_id, user_id, now)?,
            ProviderStatus::Pending => Some(own_order(c, order_id, user_id)?).filter(|o| o.status == "pending_payment"),
        };
        let Some(order) = order else {
            return Err(refusal(c, order_id, user_id, "paid"));
        };
        record_payment(c, &order, provider, answer, PaymentKind::Payment, now)?;
        if let Some(claim) = claim {
            claim.complete(c, StatusCode::OK, &OrderDto::for_viewer(&order, user_id))?;
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
        let settled: Option<i64> = diesel::update(
            payments::table
                .filter(payments::provider.eq(provider))
                .filter(payments::reference.eq(reference))
                .filter(payments::kind.eq(PaymentKind::Payment.as_str()))
                .filter(payments::status.eq("pending")),
        )
        .set((
            payments::status.eq(if succeeded { "succeeded" } else { "failed" }),
            payments::confirmed_at.eq(now),
        ))
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

/// `POST /orders/{id}/cancel`: `pending_payment → cancelled`, stock and voucher back.
pub fn cancel(conn: &mut DbConnection, user_id: i64, order_id: i64) -> AppResult<OrderRow> {
    write_tx(conn, |c| {
        let now = now();
        let cancelled = diesel::update(
            orders::table
                .filter(orders::id.eq(order_id))
                .filter(orders::user_id.eq(user_id))
                .filter(orders::status.eq("pending_payment")),
        )
        .set((orders::status.eq("cancelled"), orders::cancelled_at.eq(now)))
        .returning(orders::all_columns)
        .get_result::<OrderRow>(c)
        .optional()?;
        let Some(order) = cancelled else {
            return Err(refusal(c, order_id, user_id, "cancelled"));
        };
        give_back_stock(c, &order)?;
        release_locked_voucher(c, &order)?;
        Ok(order)
    })
}

/// The sweeper's move: cancels one order left unpaid past `payment_due_at`. Returns
/// whether this call cancelled it (another sweeper, a payment or the resident may
/// have got there first: the conditional UPDATE decides).
pub fn cancel_overdue(conn: &mut DbConnection, order_id: i64, now: NaiveDateTime) -> AppResult<bool> {
    write_tx(conn, |c| {
        let cancelled = diesel::update(
            orders::table
                .filter(orders::id.eq(order_id))
                .filter(orders::status.eq("pending_payment"))
                .filter(orders::payment_due_at.le(now)),
        )
        .set((orders::status.eq("cancelled"), orders::cancelled_at.eq(now)))
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

/// `POST /orders/{id}/refund`: `paid → refunded`, stock back, and the voucher either
/// back to `available` (campaign `refund_returns_voucher`, not past `expires_at`) or
/// `void` with its face value returned to the campaign's unreserved budget.
pub fn refund(
    conn: &mut DbConnection,
    tz: Tz,
    user_id: i64,
    order_id: i64,
    provider: &str,
    answer: &ProviderAnswer,
    claim: Option<Claim>,
) -> AppResult<OrderRow> {
    write_tx(conn, |c| {
        let now = now();
        let refunded = diesel::update(
            orders::table
                .filter(orders::id.eq(order_id))
                .filter(orders::user_id.eq(user_id))
                .filter(orders::status.eq("paid")),
        )
        .set((orders::status.eq("refunded"), orders::refunded_at.eq(now)))
        .returning(orders::all_columns)
        .get_result::<OrderRow>(c)
        .optional()?;
        let Some(order) = refunded else {
            return Err(refusal(c, order_id, user_id, "refunded"));
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
        if let Some(claim) = claim {
            claim.complete(c, StatusCode::OK, &OrderDto::for_viewer(&order, user_id))?;
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
        .filter(vouchers::status.eq("used"));
    if returns_voucher {
        let returned = diesel::update(used_by_order.filter(vouchers::expires_at.gt(now)))
            .set((vouchers::status.eq("available"), vouchers::order_id.eq(None::<i64>)))
            .execute(conn)?;
        if returned == 1 {
            return Ok(());
        }
    }
    // Forfeited: the voucher stays pointing at the order it was spent on.
    let discount_fen: i64 = diesel::update(used_by_order)
        .set(vouchers::status.eq("void"))
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

/// Who may act for merchant `merchant_id`: its members. A stranger gets 403 for an
/// approved merchant (it is public) and 404 for any other, as if it did not exist;
/// administrators see every merchant, so they get 403.
pub fn require_member(conn: &mut DbConnection, merchant_id: i64, user: AuthUser) -> AppResult<()> {
    let status: String = merchants::table
        .find(merchant_id)
        .select(merchants::status)
        .first(conn)
        .optional()?
        .ok_or_else(AppError::not_found)?;
    if is_member(conn, merchant_id, user.id)? {
        return Ok(());
    }
    if status == "approved" || user.is_admin() {
        return Err(AppError::forbidden("only the merchant's owner and staff may do this"));
    }
    Err(AppError::not_found())
}

/// `POST /merchants/{id}/redemptions`: `paid → redeemed` for the order of this
/// merchant with this code.
pub fn redeem(conn: &mut DbConnection, merchant_id: i64, user: AuthUser, code: &str) -> AppResult<OrderRow> {
    write_tx(conn, |c| {
        require_member(c, merchant_id, user)?;
        let of_this_merchant = orders::table
            .filter(orders::redemption_code.eq(code))
            .filter(orders::merchant_id.eq(merchant_id));
        let redeemed = diesel::update(of_this_merchant.filter(orders::status.eq("paid")))
            .set((orders::status.eq("redeemed"), orders::redeemed_at.eq(now())))
            .returning(orders::all_columns)
            .get_result::<OrderRow>(c)
            .optional()?;
        if let Some(order) = redeemed {
            return Ok(order);
        }
        let status: Option<String> = of_this_merchant.select(orders::status).first(c).optional()?;
        Err(match status.as_deref() {
            None => AppError::not_found(),
            Some("redeemed") => AppError::new(Code::AlreadyRedeemed, "this order was already redeemed"),
            Some(other) => AppError::invalid_state(format!("the order is {other}, it cannot be redeemed")),
        })
    })
}

/// `GET /orders/{id}`: its resident, its merchant's members and administrators.
pub fn visible_order(conn: &mut DbConnection, order_id: i64, user: AuthUser) -> AppResult<OrderRow> {
    let order: OrderRow = orders::table
        .find(order_id)
        .first(conn)
        .optional()?
        .ok_or_else(AppError::not_found)?;
    if order.user_id == user.id || user.is_admin() || is_member(conn, order.merchant_id, user.id)? {
        Ok(order)
    } else {
        Err(AppError::not_found())
    }
}

/// Whose orders a list shows.
#[derive(Debug, Clone, Copy)]
pub enum OrderOwner {
    User(i64),
    Merchant(i64),
}

/// One page of orders, newest first, optionally of one status.
pub fn list(
    conn: &mut DbConnection,
    owner: OrderOwner,
    status: Option<&str>,
    page: PageRequest,
) -> QueryResult<Vec<OrderRow>> {
    let mut query = orders::table.into_boxed();
    query = match owner {
        OrderOwner::User(id) => query.filter(orders::user_id.eq(id)),
        OrderOwner::Merchant(id) => query.filter(orders::merchant_id.eq(id)),
    };
    if let Some(status) = status {
        query = query.filter(orders::status.eq(status.to_owned()));
    }
    if let Some(after) = page.after {
        query = query.filter(orders::id.lt(after));
    }
    query.order(orders::id.desc()).limit(page.fetch()).load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_eligibility_list_covers_everything() {
        assert!(eligible("", "cinema"));
        assert!(eligible("cinema,museum", "museum"));
        assert!(!eligible("cinema,museum", "dining"));
        assert!(!eligible("cinemas", "cinema"));
    }

    #[test]
    fn redemption_codes_are_twelve_digits() {
        for _ in 0..100 {
            let code = redemption_code();
            assert_eq!(code.len(), 12);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
