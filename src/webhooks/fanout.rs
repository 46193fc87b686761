//! SQLite's fan-out: the sender, not the change, turns events into deliveries.
//!
//! On SQLite a change that merchants hear about writes only its event (see
//! [`super::outbox::enqueue`]); each sender pass first runs [`fan_out`], which
//! gives every event written since the last pass one delivery per endpoint of its
//! merchant, in one write transaction for many events. Why: SQLite writes every
//! page a transaction dirtied to the WAL whole at each commit, and the delivery
//! row and its three queue indexes were four of the six pages an event added to a
//! redemption's four (`benches/webhooks.rs`). Written by the sender, a hundred
//! events' deliveries share those pages and one commit.
//!
//! The cursor (`webhook_fanout.last_event_id`, migration `000270`) is the last
//! event fanned out. It never skips an event because SQLite has one writer: an
//! event's AUTOINCREMENT id is taken under the write lock, so events commit in id
//! order. Instances sharing the file take the cursor under `BEGIN IMMEDIATE`, one
//! at a time. PostgreSQL, whose ids can commit out of order, writes deliveries
//! with the event and never calls this.
//!
//! An event goes to the endpoints its merchant had when it was written: live
//! (not deleted) now, and registered no later than the event.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::models::DeliveryStatus;
use crate::db::{write_tx, DbConnection};

/// The events after the cursor that one pass takes: how many, and the last one.
#[derive(QueryableByName)]
struct Window {
    #[diesel(sql_type = BigInt)]
    after: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    through: Option<i64>,
    #[diesel(sql_type = BigInt)]
    events: i64,
}

/// Fans out up to `limit` events after the cursor, oldest first, and moves the
/// cursor past them; returns how many events it took. One write transaction.
pub fn fan_out(conn: &mut DbConnection, limit: i64) -> QueryResult<usize> {
    write_tx(conn, |c| {
        let window: Window = diesel::sql_query(
            "SELECT f.last_event_id AS after, MAX(e.id) AS through, COUNT(e.id) AS events \
             FROM webhook_fanout AS f \
             LEFT JOIN (SELECT id FROM webhook_events \
                        WHERE id > (SELECT last_event_id FROM webhook_fanout WHERE id = 1) \
                        ORDER BY id LIMIT ?) AS e ON 1 = 1 \
             WHERE f.id = 1 GROUP BY f.last_event_id",
        )
        .bind::<BigInt, _>(limit.max(1))
        .get_result(c)?;
        let Some(through) = window.through else {
            return Ok(0);
        };
        diesel::sql_query(
            "INSERT INTO webhook_deliveries \
                 (event_id, webhook_id, status, attempts, next_attempt_at, created_at) \
             SELECT e.id, w.id, ?, 0, e.created_at, e.created_at \
             FROM webhook_events AS e \
             JOIN webhooks AS w ON w.merchant_id = e.merchant_id \
                               AND w.deleted_at IS NULL AND w.created_at <= e.created_at \
             WHERE e.id > ? AND e.id <= ? \
             ORDER BY e.id, w.id",
        )
        .bind::<Text, _>(DeliveryStatus::Pending.as_str())
        .bind::<BigInt, _>(window.after)
        .bind::<BigInt, _>(through)
        .execute(c)?;
        diesel::sql_query("UPDATE webhook_fanout SET last_event_id = ? WHERE id = 1")
            .bind::<BigInt, _>(through)
            .execute(c)?;
        Ok(usize::try_from(window.events).unwrap_or(0))
    })
}
