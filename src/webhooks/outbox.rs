//! The outbox: events written in the transaction of the change they report, one
//! delivery per live endpoint of the merchant (on PostgreSQL in the same
//! statement; on SQLite by the sender's [`super::fanout`]). The sender's side of it is
//! [`super::lease`] (claiming due deliveries) and [`super::attempts`] (recording
//! what each POST came to).
//!
//! Whoever makes a move that merchants hear about calls [`enqueue`] inside that
//! move's `write_tx` (orders: pay, redeem, refund, cancel, the sweeper's cancel,
//! reverse; statements: the closing of each statement, `statement.closed`).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use serde_json::{json, Value};

use super::models::{DeliveryStatus, EventType};
use super::signature::new_event_id;
use crate::db::schema::{webhook_events, webhooks};
use crate::db::DbConnection;
use crate::time::{now, utc};

/// Writes event `event_type` about `data` (API.md's Order or Statement object) for
/// every live endpoint of `merchant_id`. Call it inside the change's transaction.
/// A merchant without endpoints writes nothing. A plain query error, so
/// database-level callers (the closing job) use it too.
///
/// On PostgreSQL the event and its deliveries are one statement, so a move costs
/// one round trip for its webhooks whether the merchant has endpoints or not: the
/// same as the read that finds it has none. Round trips are what a redemption's
/// transaction is made of (begin, membership, the move, this, commit), and while
/// it is open it holds its pool connection and the order's row lock, so each one
/// more is felt by every redemption waiting behind it. Nor does the statement
/// lock the merchant's or the endpoint's row, which every other event of that
/// merchant would also lock (migration `000260_outbox_without_hot_row_locks`).
/// Measured in `benches/webhooks.rs --sender off`.
///
/// On SQLite, in process, a statement is a function call but a page is not: each
/// page a transaction dirties is written to the WAL at its commit. So the change
/// writes the event alone (after a read that finds an endpoint wants it), and the
/// sender's fan-out gives it its deliveries, many events to a commit
/// ([`super::fanout`]).
pub fn enqueue(conn: &mut DbConnection, merchant_id: i64, event_type: EventType, data: Value) -> QueryResult<()> {
    let at = now();
    let public_id = new_event_id();
    match conn {
        DbConnection::Postgresql(pg) => {
            // Built before it is known whether an endpoint wants it: the price of
            // asking in the same statement.
            let body = event_body(&public_id, event_type, at, data);
            diesel::sql_query(
                "WITH endpoints AS ( \
                     SELECT id FROM webhooks WHERE merchant_id = $1 AND deleted_at IS NULL \
                 ), event AS ( \
                     INSERT INTO webhook_events (public_id, merchant_id, event_type, body, created_at) \
                     SELECT $2, $1, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM endpoints) \
                     RETURNING id \
                 ) \
                 INSERT INTO webhook_deliveries \
                     (event_id, webhook_id, status, attempts, next_attempt_at, created_at) \
                 SELECT event.id, endpoints.id, $6, 0, $5, $5 FROM event CROSS JOIN endpoints",
            )
            .bind::<BigInt, _>(merchant_id)
            .bind::<Text, _>(&public_id)
            .bind::<Text, _>(event_type.as_str())
            .bind::<Text, _>(&body)
            .bind::<Timestamp, _>(at)
            .bind::<Text, _>(DeliveryStatus::Pending.as_str())
            .execute(pg)?;
            Ok(())
        }
        DbConnection::Sqlite(_) => {
            let wanted: bool = diesel::select(diesel::dsl::exists(
                webhooks::table
                    .filter(webhooks::merchant_id.eq(merchant_id))
                    .filter(webhooks::deleted_at.is_null()),
            ))
            .get_result(conn)?;
            if !wanted {
                return Ok(());
            }
            let body = event_body(&public_id, event_type, at, data);
            // The deliveries are written by the sender's fan-out (`super::fanout`).
            diesel::insert_into(webhook_events::table)
                .values((
                    webhook_events::public_id.eq(&public_id),
                    webhook_events::merchant_id.eq(merchant_id),
                    webhook_events::event_type.eq(event_type),
                    webhook_events::body.eq(&body),
                    webhook_events::created_at.eq(at),
                ))
                .execute(conn)?;
            Ok(())
        }
    }
}

/// The exact bytes POSTed and signed: `{id, type, created_at, data}`.
fn event_body(public_id: &str, event_type: EventType, at: NaiveDateTime, data: Value) -> String {
    json!({
        "id": public_id,
        "type": event_type,
        "created_at": utc(at),
        "data": data,
    })
    .to_string()
}
