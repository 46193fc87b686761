//! The webhook events of an order's moves, and what they carry: API.md's Order as
//! the merchant sees it (no redemption code). The repos call [`record`] inside the
//! move's transaction, so the event commits or rolls back with the move; keeping
//! the DTO here keeps the repos free of HTTP shapes.

use super::dto::OrderDto;
use super::models::OrderRow;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::webhooks::models::EventType;
use crate::webhooks::outbox;

/// A viewer id no user has: the order as anyone but its resident sees it.
const MERCHANT_VIEW: i64 = 0;

/// Writes `event` about `order` to its merchant's outbox.
pub fn record(conn: &mut DbConnection, order: &OrderRow, event: EventType) -> AppResult<()> {
    let data =
        serde_json::to_value(OrderDto::for_viewer(order, MERCHANT_VIEW)).map_err(|e| AppError::Internal(e.into()))?;
    Ok(outbox::enqueue(conn, order.merchant_id, event, data)?)
}
