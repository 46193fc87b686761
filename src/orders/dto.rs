//! What the orders endpoints answer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::models::{OrderRow, OrderStatus};
use crate::time::utc;

/// API.md's Order. `redemption_code` is shown to the order's resident only.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDto {
    pub id: i64,
    pub user_id: i64,
    pub merchant_id: i64,
    pub offer_id: i64,
    pub quantity: i64,
    #[schema(required = true)]
    pub voucher_id: Option<i64>,
    pub gross_fen: i64,
    pub subsidy_fen: i64,
    pub payable_fen: i64,
    pub status: OrderStatus,
    /// 12 digits, set once paid; shown to the order's resident only (others: null).
    #[schema(required = true, pattern = "^[0-9]{12}$", example = "038412776105")]
    pub redemption_code: Option<String>,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub paid_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub redeemed_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub cancelled_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub refunded_at: Option<DateTime<Utc>>,
}

impl OrderDto {
    /// The order as `viewer_id` may see it.
    pub fn for_viewer(order: &OrderRow, viewer_id: i64) -> OrderDto {
        OrderDto {
            id: order.id,
            user_id: order.user_id,
            merchant_id: order.merchant_id,
            offer_id: order.offer_id,
            quantity: order.quantity,
            voucher_id: order.voucher_id,
            gross_fen: order.gross_fen,
            subsidy_fen: order.subsidy_fen,
            payable_fen: order.payable_fen,
            status: order.status,
            redemption_code: if order.user_id == viewer_id {
                order.redemption_code.clone()
            } else {
                None
            },
            created_at: utc(order.created_at),
            paid_at: order.paid_at.map(utc),
            redeemed_at: order.redeemed_at.map(utc),
            cancelled_at: order.cancelled_at.map(utc),
            refunded_at: order.refunded_at.map(utc),
        }
    }
}

// Request bodies, for the OpenAPI document. Handlers validate bodies with
// `http::form::Form`; these types state the same rules.

/// The body of `POST /orders`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrderRequest {
    pub offer_id: i64,
    #[schema(minimum = 1, maximum = 99)]
    pub quantity: i64,
    /// One of the caller's `available` vouchers; absent or null for none.
    pub voucher_id: Option<i64>,
}

/// The body of `POST /merchants/{id}/redemptions`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    /// The paid order's redemption code, as its resident shows it.
    #[schema(pattern = "^[0-9]{12}$", example = "038412776105")]
    pub code: String,
}
