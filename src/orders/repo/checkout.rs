//! `POST /orders`: one write transaction that checks, in this order (the first
//! failure answers):
//! 1. the offer exists and the caller may see it, else 404 (an offer of a merchant
//!    that was never approved is invisible to all but its members);
//! 2. the offer is `active` and its merchant `approved`, else 409 `offer_unavailable`;
//! 3. with a voucher: it is the caller's (else 409 `voucher_unavailable`, exactly as
//!    for a voucher that does not exist, so nobody learns of another's voucher), and
//!    spendable — stored `available` with `expires_at` in the future
//!    (`vouchers::status::is_spendable`; else 409 `voucher_unavailable`);
//! 4. with a voucher, the pricing rules ([`super::pricing`]): 422
//!    `voucher_not_applicable` for self-dealing, a campaign not active or out of its
//!    window, an ineligible category or district, a gross below the min spend or a
//!    discount above the gross;
//! 5. with a voucher, now (platform-local) is inside its usable weekdays and hours
//!    ([`crate::vouchers::usable`]), else 422 `voucher_not_usable_now`;
//! 6. the stock covers the quantity, else 409 `out_of_stock`;
//! 7. the resident holds fewer than `orders.max_unpaid_per_resident` unpaid orders
//!    inside their payment window, else 409 `invalid_state` (stock hoarding).
//!
//! Then the writes, each conditional: lock the voucher (`status = available AND
//! expires_at > now`), take the stock (`status = active AND (stock IS NULL OR
//! stock >= q)` for an approved merchant, returning the price it sold at), insert
//! the order, point the voucher at it, store the idempotent answer. A conditional
//! write that finds nothing to change rolls the whole transaction back with the
//! error the state now calls for.

use chrono::Duration;
use chrono_tz::Tz;
use diesel::prelude::*;

use super::pricing::{self, Amounts};
use crate::db::schema::{campaigns, merchants, offers, orders, users, vouchers};
use crate::db::{write_tx, DbConnection};
use crate::domain::Caller;
use crate::error::{AppError, AppResult, Code};
use crate::idempotency::Completion;
use crate::merchants::access;
use crate::merchants::models::MerchantStatus;
use crate::offers::models::OfferStatus;
use crate::orders::models::{NewOrder, OfferForSale, OrderRow, OrderStatus, VoucherForOrder};
use crate::time::now;
use crate::vouchers::status::{is_spendable, VoucherStatus};

/// What a resident asks for in `POST /orders`.
#[derive(Debug, Clone, Copy)]
pub struct OrderRequest {
    pub user_id: i64,
    pub offer_id: i64,
    pub quantity: i64,
    pub voucher_id: Option<i64>,
    /// Seconds the order may stay unpaid (config `orders.payment_timeout`).
    pub payment_timeout: i64,
    /// Unpaid orders one resident may hold (config `orders.max_unpaid_per_resident`).
    pub max_unpaid: i64,
    /// The platform's time zone (config `platform.timezone`): vouchers' usable
    /// weekdays and hours are local to it.
    pub timezone: Tz,
}

fn offer_unavailable() -> AppError {
    AppError::new(Code::OfferUnavailable, "this offer is not on sale")
}

fn voucher_unavailable() -> AppError {
    AppError::new(Code::VoucherUnavailable, "this voucher is not available to you")
}

fn out_of_stock() -> AppError {
    AppError::new(Code::OutOfStock, "not enough left of this offer")
}

impl OfferForSale {
    fn on_sale(&self) -> bool {
        self.status == OfferStatus::Active && self.merchant_status == MerchantStatus::Approved
    }

    /// Approved now or once: its offers were public (a suspended one shows 409, not 404).
    fn ever_public(&self) -> bool {
        matches!(
            self.merchant_status,
            MerchantStatus::Approved | MerchantStatus::Suspended
        )
    }
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
            vouchers::usable_weekdays,
            vouchers::usable_from,
            vouchers::usable_to,
        ))
        .first(conn)
        .optional()
}

/// The cap on a resident's unpaid orders. The resident's row is locked first (a
/// no-op UPDATE: a row lock on PostgreSQL; SQLite's write transaction already
/// serialises), so two concurrent checkouts of one resident count one after the
/// other and cannot both slip under the cap.
fn check_unpaid_cap(
    conn: &mut DbConnection,
    user_id: i64,
    max_unpaid: i64,
    now: chrono::NaiveDateTime,
) -> AppResult<()> {
    diesel::update(users::table.filter(users::id.eq(user_id)))
        .set(users::id.eq(users::id))
        .execute(conn)?;
    let unpaid: i64 = orders::table
        .filter(orders::user_id.eq(user_id))
        .filter(orders::status.eq(OrderStatus::PendingPayment))
        .filter(orders::payment_due_at.gt(now))
        .count()
        .get_result(conn)?;
    if unpaid >= max_unpaid {
        return Err(AppError::invalid_state(format!(
            "you already hold {unpaid} unpaid orders (at most {max_unpaid}): pay or cancel one first"
        )));
    }
    Ok(())
}

/// Takes `quantity` from the offer's stock if it is on sale and has enough;
/// returns the price it sold at, or `None` when nothing was taken.
fn take_stock(conn: &mut DbConnection, offer_id: i64, quantity: i64) -> QueryResult<Option<i64>> {
    let approved = merchants::table
        .filter(merchants::status.eq(MerchantStatus::Approved))
        .select(merchants::id);
    diesel::update(
        offers::table
            .filter(offers::id.eq(offer_id))
            .filter(offers::status.eq(OfferStatus::Active))
            .filter(offers::stock.is_null().or(offers::stock.ge(quantity)))
            .filter(offers::merchant_id.eq_any(approved)),
    )
    .set(offers::stock.eq(offers::stock - quantity))
    .returning(offers::price_fen)
    .get_result(conn)
    .optional()
}

/// `POST /orders` (see the module doc for the checks and their order). The caller
/// is a resident (`request.user_id`); `answer` stores the idempotent answer in the
/// same transaction.
pub fn create(
    conn: &mut DbConnection,
    request: OrderRequest,
    answer: Option<Completion<OrderRow>>,
) -> AppResult<OrderRow> {
    let OrderRequest {
        user_id,
        offer_id,
        quantity,
        voucher_id,
        payment_timeout,
        max_unpaid,
        timezone,
    } = request;
    write_tx(conn, |c| {
        let now = now();
        let offer = offer_for_sale(c, offer_id)?.ok_or_else(AppError::not_found)?;
        // Only residents buy (handlers refuse admins), so the relation is member or stranger.
        let buyer = Caller::resident(user_id);
        let member = access::relation(c, offer.merchant_id, Some(buyer))?.is_member();
        if !offer.ever_public() && !member {
            return Err(AppError::not_found());
        }
        if !offer.on_sale() {
            return Err(offer_unavailable());
        }
        let voucher = match voucher_id {
            None => None,
            Some(id) => {
                let voucher = own_voucher(c, id, user_id)?.ok_or_else(voucher_unavailable)?;
                if !is_spendable(voucher.status, voucher.expires_at, now) {
                    return Err(voucher_unavailable());
                }
                pricing::check_voucher_fits(&voucher, &offer, member, now)?;
                pricing::amounts(offer.price_fen, quantity, Some(voucher.discount()))?;
                let local = now.and_utc().with_timezone(&timezone).naive_local();
                if !voucher.usable().allows(local) {
                    return Err(AppError::new(
                        Code::VoucherNotUsableNow,
                        "this voucher cannot be used at this time of the week or day",
                    ));
                }
                Some(voucher)
            }
        };
        if offer.stock.is_some_and(|stock| stock < quantity) {
            return Err(out_of_stock());
        }
        check_unpaid_cap(c, user_id, max_unpaid, now)?;

        if let Some(voucher) = &voucher {
            let locked = diesel::update(
                vouchers::table
                    .filter(vouchers::id.eq(voucher.id))
                    .filter(vouchers::user_id.eq(user_id))
                    .filter(vouchers::status.eq(VoucherStatus::Available))
                    .filter(vouchers::expires_at.gt(now)),
            )
            .set(vouchers::status.eq(VoucherStatus::Locked))
            .execute(c)?;
            if locked != 1 {
                return Err(voucher_unavailable());
            }
        }
        let Some(price_fen) = take_stock(c, offer_id, quantity)? else {
            // Someone else got there first: say what the offer's state now is.
            let now_offer = offer_for_sale(c, offer_id)?.ok_or_else(AppError::not_found)?;
            return Err(if now_offer.on_sale() {
                out_of_stock()
            } else {
                offer_unavailable()
            });
        };
        // The price the stock was taken at (an owner may have changed it meanwhile).
        let Amounts {
            gross_fen,
            subsidy_fen,
            payable_fen,
        } = pricing::amounts(price_fen, quantity, voucher.as_ref().map(VoucherForOrder::discount))?;
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
                status: OrderStatus::PendingPayment,
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
        if let Some(answer) = &answer {
            answer.store(c, &order)?;
        }
        Ok(order)
    })
}
