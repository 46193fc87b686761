//! The outbox: events written in the transaction of the change they report, one
//! delivery per live endpoint of the merchant, and the sender's side of it:
//! claiming due deliveries under a lease and recording each pass's attempts.
//!
//! Whoever makes a move that merchants hear about calls [`enqueue`] inside that
//! move's `write_tx` (orders: pay, redeem, refund, cancel, the sweeper's cancel,
//! reverse; statements: the closing of each statement, `statement.closed`).

use chrono::{Duration, NaiveDateTime};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::{json, Value};

use super::models::{DeliveryStatus, EventType, NewAttempt};
use super::signature::new_event_id;
use crate::db::schema::{webhook_attempts, webhook_deliveries, webhook_events, webhooks};
use crate::db::{write_tx, DbConnection};
use crate::error::{AppError, AppResult};
use crate::time::{now, utc};

/// Writes event `event_type` about `data` (API.md's Order or Statement object) for
/// every live endpoint of `merchant_id`. Call it inside the change's transaction.
/// A merchant without endpoints costs one indexed read and writes nothing.
/// A plain query error, so database-level callers (the closing job) use it too.
pub fn enqueue(conn: &mut DbConnection, merchant_id: i64, event_type: EventType, data: Value) -> QueryResult<()> {
    let endpoints: Vec<i64> = webhooks::table
        .filter(webhooks::merchant_id.eq(merchant_id))
        .filter(webhooks::deleted_at.is_null())
        .select(webhooks::id)
        .load(conn)?;
    if endpoints.is_empty() {
        return Ok(());
    }
    let at = now();
    let public_id = new_event_id();
    let body = json!({
        "id": public_id,
        "type": event_type,
        "created_at": utc(at),
        "data": data,
    })
    .to_string();
    let event_id: i64 = diesel::insert_into(webhook_events::table)
        .values((
            webhook_events::public_id.eq(&public_id),
            webhook_events::merchant_id.eq(merchant_id),
            webhook_events::event_type.eq(event_type),
            webhook_events::body.eq(&body),
            webhook_events::created_at.eq(at),
        ))
        .returning(webhook_events::id)
        .get_result(conn)?;
    // One row at a time: MultiConnection has no batch insert; a merchant has few endpoints.
    for webhook_id in endpoints {
        diesel::insert_into(webhook_deliveries::table)
            .values((
                webhook_deliveries::event_id.eq(event_id),
                webhook_deliveries::webhook_id.eq(webhook_id),
                webhook_deliveries::status.eq(DeliveryStatus::Pending),
                webhook_deliveries::attempts.eq(0_i64),
                webhook_deliveries::next_attempt_at.eq(at),
                webhook_deliveries::created_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A delivery this instance holds the lease of: what to send, where, signed how.
#[derive(Debug, Clone)]
pub struct Due {
    pub delivery_id: i64,
    pub webhook_id: i64,
    pub event_id: i64,
    pub public_id: String,
    pub url: String,
    pub secret: String,
    pub body: String,
    pub attempts: i64,
    pub event_created_at: NaiveDateTime,
}

/// Leases the oldest due deliveries of one endpoint, unless one of its deliveries
/// is in flight; inside the caller's write transaction.
fn claim_endpoint(
    conn: &mut DbConnection,
    webhook_id: i64,
    room: i64,
    at: NaiveDateTime,
    lease: Duration,
) -> Result<Vec<i64>, diesel::result::Error> {
    without_waiting_for_the_flush(conn)?;
    // The row lock that orders instances claiming the same endpoint (a no-op write).
    diesel::update(webhooks::table.find(webhook_id))
        .set(webhooks::id.eq(webhook_id))
        .execute(conn)?;
    let in_flight: bool = diesel::select(diesel::dsl::exists(
        webhook_deliveries::table
            .filter(webhook_deliveries::webhook_id.eq(webhook_id))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending))
            .filter(webhook_deliveries::locked_until.ge(at)),
    ))
    .get_result(conn)?;
    if in_flight {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending))
        .filter(webhook_deliveries::next_attempt_at.le(at))
        .order(webhook_deliveries::id.asc())
        .select(webhook_deliveries::id)
        .limit(room)
        .load(conn)?;
    if !ids.is_empty() {
        diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
            .set(webhook_deliveries::locked_until.eq(at + lease))
            .execute(conn)?;
    }
    Ok(ids)
}

/// `Due`'s columns, in its field order but the public id's.
type DueRow = (i64, i64, i64, i64, String, String, String, String, NaiveDateTime);

/// Claims due deliveries for `lease`, endpoint by endpoint, so that each endpoint
/// hears its events in the order they were written (README, "Order"): an endpoint
/// with a delivery in flight (leased by any instance) is skipped; otherwise its
/// oldest due deliveries, up to `per_endpoint`, are leased together, and the
/// sender sends them one after another. Up to `limit` deliveries in all.
///
/// Each endpoint's claim is one write transaction that first touches the
/// endpoint's row: on PostgreSQL that row lock makes a second instance wait and
/// then see the first one's lease (a conditional UPDATE alone would let both pass
/// the "nothing in flight" check); SQLite's `BEGIN IMMEDIATE` serializes anyway.
pub fn claim(conn: &mut DbConnection, limit: i64, per_endpoint: i64, lease: Duration) -> AppResult<Vec<Due>> {
    let at = now();
    let free = webhook_deliveries::locked_until
        .is_null()
        .or(webhook_deliveries::locked_until.lt(at));
    let candidates: Vec<i64> = webhook_deliveries::table
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending))
        .filter(webhook_deliveries::next_attempt_at.le(at))
        .filter(free)
        .order(webhook_deliveries::id.asc())
        .select(webhook_deliveries::webhook_id)
        .limit(limit)
        .load(conn)?;
    let mut endpoints: Vec<i64> = Vec::new();
    for webhook_id in candidates {
        if !endpoints.contains(&webhook_id) {
            endpoints.push(webhook_id);
        }
    }
    let mut claimed: Vec<i64> = Vec::new();
    for webhook_id in endpoints {
        let room = (limit - claimed.len() as i64).min(per_endpoint.max(1));
        if room <= 0 {
            break;
        }
        let won = write_tx(conn, |c| claim_endpoint(c, webhook_id, room, at, lease))?;
        claimed.extend(won);
    }
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<DueRow> = webhook_deliveries::table
        .inner_join(webhook_events::table)
        .inner_join(webhooks::table)
        .filter(webhook_deliveries::id.eq_any(&claimed))
        .order(webhook_deliveries::id.asc())
        .select((
            webhook_deliveries::id,
            webhook_deliveries::webhook_id,
            webhook_deliveries::event_id,
            webhook_deliveries::attempts,
            webhook_events::public_id,
            webhooks::url,
            webhooks::secret,
            webhook_events::body,
            webhook_events::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(delivery_id, webhook_id, event_id, attempts, public_id, url, secret, body, event_created_at)| Due {
                delivery_id,
                webhook_id,
                event_id,
                public_id,
                url,
                secret,
                body,
                attempts,
                event_created_at,
            },
        )
        .collect())
}

/// What one POST came to.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub at: NaiveDateTime,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

impl Outcome {
    pub fn acknowledged(&self) -> bool {
        self.status_code.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The schedule of retries: what the sender needs of config `webhooks.*`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub window: Duration,
}

impl Backoff {
    /// The wait after the `attempts`-th failed attempt (1-based): initial × 2^(n−1), capped.
    pub fn delay(&self, attempts: i64) -> Duration {
        let doublings = attempts.clamp(1, 31) - 1;
        let ms = self.initial.num_milliseconds().saturating_mul(1_i64 << doublings);
        Duration::milliseconds(ms.min(self.max.num_milliseconds()))
    }
}

/// Records a whole pass's attempts (see [`record_one`]) in one write transaction:
/// one commit for the pass instead of one per attempt. Should it fail, every
/// delivery of the pass stays pending under its lease and is sent again once the
/// lease lapses (a duplicate, which the contract allows).
pub fn record(conn: &mut DbConnection, sent: &[(Due, Outcome)], backoff: Backoff) -> AppResult<()> {
    write_tx(conn, |c| {
        without_waiting_for_the_flush(c)?;
        for (due, outcome) in sent {
            record_one(c, due, outcome, backoff)?;
        }
        Ok::<_, AppError>(())
    })
}

/// Lets the sender's own transaction (a lease, or the attempts of a pass) commit
/// without waiting for its WAL flush: PostgreSQL's `synchronous_commit = off` for
/// this transaction only (`SET LOCAL`). Orders, payments and the outbox rows a
/// change writes are never written so: their transactions keep the server's
/// setting, and a flush for any of them flushes everything written before it.
///
/// Why losing one of these commits is safe: asynchronous commit can lose only the
/// last few hundred milliseconds of such transactions, and only if the PostgreSQL
/// server itself crashes (never the data of other transactions, never a torn
/// state; an instance dying loses nothing). What such a loss undoes is a lease, or
/// an attempt's log row with its delivery's move; the delivery is then pending,
/// as it was before the lease, and is sent again (a duplicate, which the contract
/// allows: at least once, deduplicate by `Wenlv-Event-Id`) or retried sooner than
/// its backoff said; its retry window runs from the event's creation, so it still
/// ends. Nothing ever sends fewer events. In return the sender adds no flushes of
/// its own to those the requests wait for (on this machine a flush is ~5 ms, and a
/// pass used to wait for several). SQLite's `synchronous = NORMAL` in WAL mode
/// already commits without a sync, so there is nothing to do there.
fn without_waiting_for_the_flush(conn: &mut DbConnection) -> QueryResult<()> {
    match conn {
        DbConnection::Postgresql(_) => conn.batch_execute("SET LOCAL synchronous_commit = off"),
        DbConnection::Sqlite(_) => Ok(()),
    }
}

/// Logs one attempt and moves its delivery, inside the caller's transaction:
/// delivered on a 2xx; else due again after the backoff, or failed once past the
/// retry window. Only the lease holder gets here, but the UPDATE still requires
/// `pending`, so a late duplicate changes nothing.
fn record_one(c: &mut DbConnection, due: &Due, outcome: &Outcome, backoff: Backoff) -> QueryResult<()> {
    diesel::insert_into(webhook_attempts::table)
        .values(NewAttempt {
            delivery_id: due.delivery_id,
            webhook_id: due.webhook_id,
            event_id: due.event_id,
            attempted_at: outcome.at,
            status_code: outcome.status_code.map(i32::from),
            error: outcome.error.clone(),
            duration_ms: outcome.duration_ms,
        })
        .execute(c)?;
    let attempts = due.attempts + 1;
    let target = webhook_deliveries::table
        .filter(webhook_deliveries::id.eq(due.delivery_id))
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending));
    if outcome.acknowledged() {
        diesel::update(target)
            .set((
                webhook_deliveries::status.eq(DeliveryStatus::Delivered),
                webhook_deliveries::attempts.eq(attempts),
                webhook_deliveries::delivered_at.eq(outcome.at),
                webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(c)?;
        return Ok(());
    }
    let next = outcome.at + backoff.delay(attempts);
    let status = if next > due.event_created_at + backoff.window {
        DeliveryStatus::Failed
    } else {
        DeliveryStatus::Pending
    };
    diesel::update(target)
        .set((
            webhook_deliveries::status.eq(status),
            webhook_deliveries::attempts.eq(attempts),
            webhook_deliveries::next_attempt_at.eq(next),
            webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(c)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let b = Backoff {
            initial: Duration::seconds(10),
            max: Duration::hours(1),
            window: Duration::hours(24),
        };
        assert_eq!(b.delay(1), Duration::seconds(10));
        assert_eq!(b.delay(2), Duration::seconds(20));
        assert_eq!(b.delay(3), Duration::seconds(40));
        assert_eq!(b.delay(20), Duration::hours(1));
        assert_eq!(b.delay(1000), Duration::hours(1));
    }
}
