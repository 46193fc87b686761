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
//! event's id (one more than the largest, migration `000280`) is taken under the
//! write lock, so events commit in id order; and events are never deleted, so no
//! id below the cursor is handed out again. Instances sharing the file take the
//! cursor under `BEGIN IMMEDIATE`, one at a time. PostgreSQL, whose ids can commit out of order, writes deliveries
//! with the event and never calls this.
//!
//! An event goes to the endpoints its merchant had when it was written: live
//! (not deleted) now, and registered no later than the event.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::models::DeliveryStatus;
use crate::db::{write_tx, DbConnection};

#[derive(QueryableByName)]
struct Cursor {
    #[diesel(sql_type = BigInt)]
    last_event_id: i64,
}

#[derive(QueryableByName)]
struct Newest {
    #[diesel(sql_type = Nullable<BigInt>)]
    id: Option<i64>,
}

/// The cursor: the last event fanned out.
fn cursor(c: &mut DbConnection) -> QueryResult<i64> {
    Ok(
        diesel::sql_query("SELECT last_event_id FROM webhook_fanout WHERE id = 1")
            .get_result::<Cursor>(c)?
            .last_event_id,
    )
}

/// The id of the `limit`-th event after `after` (or of the last one, if fewer).
fn through(c: &mut DbConnection, after: i64, limit: i64) -> QueryResult<Option<i64>> {
    Ok(
        diesel::sql_query("SELECT MAX(id) AS id FROM (SELECT id FROM webhook_events WHERE id > ? ORDER BY id LIMIT ?)")
            .bind::<BigInt, _>(after)
            .bind::<BigInt, _>(limit.max(1))
            .get_result::<Newest>(c)?
            .id,
    )
}

/// Fans out up to `limit` events after the cursor, oldest first, and moves the
/// cursor past them, in one write transaction. A pass with nothing new only reads
/// (the sender passes every `webhooks.poll_interval_ms` while idle, and the write
/// lock is the one the requests wait for).
pub fn fan_out(conn: &mut DbConnection, limit: i64) -> QueryResult<()> {
    let seen = cursor(conn)?;
    if through(conn, seen, 1)?.is_none() {
        return Ok(());
    }
    write_tx(conn, |c| {
        // Read again under the write lock: another instance may have moved it.
        let after = cursor(c)?;
        let Some(through) = through(c, after, limit)? else {
            return Ok(());
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
        .bind::<BigInt, _>(after)
        .bind::<BigInt, _>(through)
        .execute(c)?;
        diesel::sql_query("UPDATE webhook_fanout SET last_event_id = ? WHERE id = 1")
            .bind::<BigInt, _>(through)
            .execute(c)?;
        Ok(())
    })
}
