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

/// Sweeps every `interval` until `stop` turns true (or the task is dropped). A
/// failed pass is logged and the next one tries again. Stopping waits for the pass
/// in progress, so shutdown never leaves one half done (each cancellation is its
/// own transaction, so even a kill would not).
pub async fn run_forever(pool: Pool, interval: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
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
