//! Rows and vocabularies of the webhooks feature.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{webhook_attempts, webhooks};

crate::text_enum! {
    /// The events a merchant's endpoint may be sent.
    pub enum EventType {
        OrderPaid = "order.paid",
        OrderRedeemed = "order.redeemed",
        OrderRefunded = "order.refunded",
        OrderCancelled = "order.cancelled",
        OrderReversed = "order.reversed",
        StatementClosed = "statement.closed",
    }
}

crate::text_enum! {
    /// Where one event's delivery to one endpoint stands.
    pub enum DeliveryStatus {
        /// Not yet acknowledged; due at `next_attempt_at`.
        Pending = "pending",
        /// A 2xx answer came.
        Delivered = "delivered",
        /// Retried for the whole window without a 2xx.
        Failed = "failed",
        /// Its endpoint was deleted first.
        Abandoned = "abandoned",
    }
}

/// A `webhooks` row, in schema column order.
#[derive(Debug, Clone, Queryable)]
pub struct WebhookRow {
    pub id: i64,
    pub merchant_id: i64,
    pub url: String,
    pub secret: String,
    pub created_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
    /// Until when a sender pass holds the endpoint ([`super::lease`]).
    pub leased_until: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = webhooks)]
pub struct NewWebhook<'a> {
    pub merchant_id: i64,
    pub url: &'a str,
    pub secret: &'a str,
    pub created_at: NaiveDateTime,
}

/// A `webhook_attempts` row, in schema column order.
#[derive(Debug, Clone, Queryable)]
pub struct AttemptRow {
    pub id: i64,
    pub delivery_id: i64,
    pub webhook_id: i64,
    pub event_id: i64,
    pub attempted_at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

#[derive(Insertable)]
#[diesel(table_name = webhook_attempts)]
pub struct NewAttempt {
    pub delivery_id: i64,
    pub webhook_id: i64,
    pub event_id: i64,
    pub attempted_at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
}
