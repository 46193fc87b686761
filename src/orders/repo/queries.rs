//! Reading orders, with authorization in every query: the caller's own order, an
//! order as a viewer may see it, pages of a resident's or a merchant's orders, and
//! why a move found nothing to change (the refusal a losing move answers with).
//! Who counts as a merchant's member is `merchants::access`'s rule, not ours.

use diesel::prelude::*;

use crate::db::schema::orders;
use crate::db::DbConnection;
use crate::domain::Caller;
use crate::error::{AppError, AppResult, Code};
use crate::http::PageRequest;
use crate::merchants::access;
use crate::orders::models::{OrderRow, OrderStatus};

/// The caller's own order; anybody else's is not found.
pub fn own_order(conn: &mut DbConnection, order_id: i64, user_id: i64) -> AppResult<OrderRow> {
    orders::table
        .filter(orders::id.eq(order_id))
        .filter(orders::user_id.eq(user_id))
        .first(conn)
        .optional()?
        .ok_or_else(AppError::not_found)
}

/// 409 `invalid_state` for an order in `status` that cannot move to `wanted`.
pub fn invalid_move(status: OrderStatus, wanted: OrderStatus) -> AppError {
    AppError::invalid_state(format!("the order is {status}, it cannot be {wanted}"))
}

/// Why a conditional move of the caller's order to `wanted` changed nothing: 404
/// when it is not theirs, else 409 `invalid_state` naming its status.
pub fn refusal(conn: &mut DbConnection, order_id: i64, user_id: i64, wanted: OrderStatus) -> AppError {
    match own_order(conn, order_id, user_id) {
        Ok(order) => invalid_move(order.status, wanted),
        Err(error) => error,
    }
}

/// Who may act for merchant `merchant_id`: its members. A stranger gets 403 for an
/// approved merchant (it is public) and 404 for any other, as if it did not exist;
/// administrators see every merchant, so they get 403 (`merchants::access`).
pub fn require_member(conn: &mut DbConnection, merchant_id: i64, caller: Caller) -> AppResult<()> {
    let (_, relation) = access::visible_merchant(conn, merchant_id, Some(caller))?;
    relation.require_member()
}

/// Why no paid order of merchant `merchant_id` with `code` could be redeemed.
pub fn redeem_refusal(conn: &mut DbConnection, merchant_id: i64, code: &str) -> AppError {
    let order: QueryResult<Option<OrderRow>> = orders::table
        .filter(orders::redemption_code.eq(code))
        .filter(orders::merchant_id.eq(merchant_id))
        .first(conn)
        .optional();
    match order {
        Err(error) => error.into(),
        // Unknown and another merchant's code read the same (no code oracle), but
        // say what the clerk at the counter should check.
        Ok(None) => AppError::new(Code::NotFound, "no order of this merchant has this redemption code"),
        Ok(Some(order)) => match order.status {
            OrderStatus::Redeemed => AppError::new(Code::AlreadyRedeemed, "this order was already redeemed"),
            OrderStatus::Refunded => AppError::invalid_state("this order was refunded; it cannot be redeemed"),
            OrderStatus::Cancelled => AppError::invalid_state("this order was cancelled; it cannot be redeemed"),
            OrderStatus::PendingPayment => AppError::invalid_state("this order is not paid yet; it cannot be redeemed"),
            OrderStatus::Reversed => AppError::invalid_state("this order was reversed; it cannot be redeemed"),
            // A paid order is redeemable: the conditional move lost a race that a
            // retry settles.
            OrderStatus::Paid => invalid_move(order.status, OrderStatus::Redeemed),
        },
    }
}

/// `GET /orders/{id}`: its resident, its merchant's members and administrators.
pub fn visible_order(conn: &mut DbConnection, order_id: i64, caller: Caller) -> AppResult<OrderRow> {
    let order: OrderRow = orders::table
        .find(order_id)
        .first(conn)
        .optional()?
        .ok_or_else(AppError::not_found)?;
    if order.user_id == caller.id || access::relation(conn, order.merchant_id, Some(caller))?.sees_everything() {
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
    status: Option<OrderStatus>,
    page: PageRequest,
) -> QueryResult<Vec<OrderRow>> {
    let mut query = orders::table.into_boxed();
    query = match owner {
        OrderOwner::User(id) => query.filter(orders::user_id.eq(id)),
        OrderOwner::Merchant(id) => query.filter(orders::merchant_id.eq(id)),
    };
    if let Some(status) = status {
        query = query.filter(orders::status.eq(status));
    }
    if let Some(after) = page.after {
        query = query.filter(orders::id.lt(after));
    }
    query.order(orders::id.desc()).limit(page.fetch()).load(conn)
}
