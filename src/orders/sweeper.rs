//! The background sweeper: cancels orders left unpaid past `payment_due_at`
//! (returning their stock and voucher) and deletes expired idempotency keys.
//!
//! Every instance of the service runs one. They need no coordination: each order is
//! cancelled in its own write transaction whose conditional UPDATE (`WHERE id = ?
//! AND status = pending_payment`) lets exactly one sweeper, payment or
//! cancellation win; the others find nothing to change and move on.

use std::time::Duration;

use super::models::OrderStatus;
use super::repo::lifecycle;
use crate::db::{DbConnection, Pool};
use crate::error::AppResult;
use crate::idempotency;
use crate::time::now;

/// Orders looked at per query.
const BATCH: i64 = 200;

/// One pass: cancels every order overdue now; returns how many this call cancelled.
pub fn sweep_once(conn: &mut DbConnection) -> AppResult<usize> {
    let now = now();
    let mut cancelled = 0;
    let mut after = 0_i64;
    loop {
        let due = lifecycle::overdue(conn, now, after, BATCH)?;
        for &order_id in &due {
            if lifecycle::cancel_overdue(conn, order_id, now)? {
                crate::metrics::order_transition(OrderStatus::Cancelled.as_str());
                cancelled += 1;
            }
        }
        match due.last() {
            Some(&last) if due.len() as i64 == BATCH => after = last,
            _ => break,
        }
    }
    let expired_keys = idempotency::delete_expired(conn)?;
    if cancelled > 0 || expired_keys > 0 {
        tracing::info!(cancelled, expired_keys, "sweeper pass");
    }
    Ok(cancelled)
}

/// Sweeps every `interval` until the task is dropped. A failed pass is logged and
/// the next one tries again.
pub async fn run_forever(pool: Pool, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let pool = pool.clone();
        let pass = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
            let mut conn = pool.get()?;
            Ok(sweep_once(&mut conn)?)
        })
        .await;
        match pass {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(error = %error, "sweeper pass failed"),
            Err(error) => tracing::warn!(error = %error, "sweeper task failed"),
        }
    }
}
