//! The sender's claim: endpoints leased to this instance's pass
//! (`webhooks.leased_until`), with their oldest due deliveries and what sending
//! them needs; and the asynchronous commit its own transactions use.

use chrono::{Duration, NaiveDateTime};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::models::DeliveryStatus;
use crate::db::schema::{webhook_deliveries, webhook_events, webhooks};
use crate::db::{write_tx, DbConnection};
use crate::error::AppResult;
use crate::time::now;

/// A delivery of an endpoint this pass holds the lease of: what to send, where,
/// signed how. Read by column position (a select in field order).
#[derive(Debug, Clone, Queryable)]
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

/// What a pass holds: the endpoints it leased (none when nothing was due), until
/// when, and their deliveries to send (each endpoint's in delivery id order).
#[derive(Debug)]
pub struct Claimed {
    pub due: Vec<Due>,
    pub endpoints: Vec<i64>,
    /// The lease's end, the same for every endpoint of the pass: releasing the
    /// lease requires it, so a pass that outlived its lease never releases the
    /// next holder's.
    pub until: NaiveDateTime,
}

/// Leases one endpoint unless a lease on it holds, then reads its oldest due
/// deliveries and what sending them needs; inside the caller's write transaction.
/// An endpoint with nothing due is not left leased.
///
/// The conditional UPDATE is the whole mutual exclusion on both engines: SQLite's
/// `BEGIN IMMEDIATE` excludes every other writer, and on PostgreSQL a second
/// instance's UPDATE waits for the first one's row lock and then evaluates the
/// condition again on the row the first one committed, so it changes nothing. The
/// read is a statement of its own, after the UPDATE, so that on PostgreSQL its
/// snapshot includes the record of the pass that held the lease before.
fn claim_endpoint(
    conn: &mut DbConnection,
    webhook_id: i64,
    room: i64,
    at: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<Vec<Due>, diesel::result::Error> {
    without_waiting_for_the_flush(conn)?;
    let leased = diesel::update(
        webhooks::table
            .filter(webhooks::id.eq(webhook_id))
            .filter(webhooks::leased_until.is_null().or(webhooks::leased_until.lt(at))),
    )
    .set(webhooks::leased_until.eq(until))
    .execute(conn)?;
    if leased == 0 {
        return Ok(Vec::new());
    }
    let due: Vec<Due> = webhook_deliveries::table
        .inner_join(webhook_events::table)
        .inner_join(webhooks::table)
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending))
        .filter(webhook_deliveries::next_attempt_at.le(at))
        .order(webhook_deliveries::id.asc())
        .select((
            webhook_deliveries::id,
            webhook_deliveries::webhook_id,
            webhook_deliveries::event_id,
            webhook_events::public_id,
            webhooks::url,
            webhooks::secret,
            webhook_events::body,
            webhook_deliveries::attempts,
            webhook_events::created_at,
        ))
        .limit(room)
        .load(conn)?;
    if due.is_empty() {
        diesel::update(webhooks::table.filter(webhooks::id.eq(webhook_id)))
            .set(webhooks::leased_until.eq(None::<NaiveDateTime>))
            .execute(conn)?;
    }
    Ok(due)
}

/// Claims due deliveries for `lease`, endpoint by endpoint, so that each endpoint
/// hears its events in the order they were written (README, "Order"): an endpoint
/// leased by a pass (of any instance) is skipped; otherwise it is leased and its
/// oldest due deliveries go to this pass, which sends them one after another while
/// the lease has room (`sender::last_start`) and releases the lease when it records
/// them ([`super::attempts::record`]). Up to `limit` deliveries in all. Each
/// endpoint's claim is one short write transaction.
///
/// On SQLite the events written since the last pass get their deliveries first
/// ([`super::fanout`]).
pub fn claim(conn: &mut DbConnection, limit: i64, lease: Duration) -> AppResult<Claimed> {
    if let DbConnection::Sqlite(_) = conn {
        super::fanout::fan_out(conn, limit)?;
    }
    let at = now();
    let until = at + lease;
    let candidates: Vec<i64> = webhook_deliveries::table
        .inner_join(webhooks::table)
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending))
        .filter(webhook_deliveries::next_attempt_at.le(at))
        .filter(webhooks::leased_until.is_null().or(webhooks::leased_until.lt(at)))
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
    let mut claimed = Claimed {
        due: Vec::new(),
        endpoints: Vec::new(),
        until,
    };
    for webhook_id in endpoints {
        let room = limit - claimed.due.len() as i64;
        if room <= 0 {
            break;
        }
        let won = write_tx(conn, |c| claim_endpoint(c, webhook_id, room, at, until))?;
        if !won.is_empty() {
            claimed.endpoints.push(webhook_id);
            claimed.due.extend(won);
        }
    }
    Ok(claimed)
}

/// Ends this pass's lease of its endpoints (inside the record's transaction), but
/// not a lease another pass took after this one's lapsed.
pub(super) fn release(conn: &mut DbConnection, claimed: &Claimed) -> QueryResult<usize> {
    if claimed.endpoints.is_empty() {
        return Ok(0);
    }
    diesel::update(
        webhooks::table
            .filter(webhooks::id.eq_any(&claimed.endpoints))
            .filter(webhooks::leased_until.eq(claimed.until)),
    )
    .set(webhooks::leased_until.eq(None::<NaiveDateTime>))
    .execute(conn)
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
/// an attempt's log row with its delivery's move and the lease's release; the
/// delivery is then pending, as it was before the lease, and is sent again (a duplicate, which the contract
/// allows: at least once, deduplicate by `Wenlv-Event-Id`) or retried sooner than
/// its backoff said; its retry window runs from the event's creation, so it still
/// ends. Nothing ever sends fewer events. In return the sender adds no flushes of
/// its own to those the requests wait for (on this machine a flush is ~5 ms, and a
/// pass used to wait for several). SQLite's `synchronous = NORMAL` in WAL mode
/// already commits without a sync, so there is nothing to do there.
pub(super) fn without_waiting_for_the_flush(conn: &mut DbConnection) -> QueryResult<()> {
    match conn {
        DbConnection::Postgresql(_) => conn.batch_execute("SET LOCAL synchronous_commit = off"),
        DbConnection::Sqlite(_) => Ok(()),
    }
}
