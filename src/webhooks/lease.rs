//! The sender's claim: due deliveries leased to this instance (`locked_until`),
//! endpoint by endpoint, with what sending them needs; and the asynchronous
//! commit its own transactions use.

use chrono::{Duration, NaiveDateTime};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::models::DeliveryStatus;
use crate::db::schema::{webhook_deliveries, webhook_events, webhooks};
use crate::db::{write_tx, DbConnection};
use crate::error::AppResult;
use crate::time::now;

/// A delivery this instance holds the lease of: what to send, where, signed how.
/// Read by column position on SQLite (a select in field order) and by column
/// name from PostgreSQL's one statement.
#[derive(Debug, Clone, Queryable, QueryableByName)]
pub struct Due {
    #[diesel(sql_type = BigInt)]
    pub delivery_id: i64,
    #[diesel(sql_type = BigInt)]
    pub webhook_id: i64,
    #[diesel(sql_type = BigInt)]
    pub event_id: i64,
    #[diesel(sql_type = Text)]
    pub public_id: String,
    #[diesel(sql_type = Text)]
    pub url: String,
    #[diesel(sql_type = Text)]
    pub secret: String,
    #[diesel(sql_type = Text)]
    pub body: String,
    #[diesel(sql_type = BigInt)]
    pub attempts: i64,
    #[diesel(sql_type = Timestamp)]
    pub event_created_at: NaiveDateTime,
}

/// Leases the oldest due deliveries of one endpoint, unless one of its deliveries
/// is in flight, and reads what sending them needs; inside the caller's write
/// transaction.
fn claim_endpoint(
    conn: &mut DbConnection,
    webhook_id: i64,
    room: i64,
    at: NaiveDateTime,
    lease: Duration,
) -> Result<Vec<Due>, diesel::result::Error> {
    without_waiting_for_the_flush(conn)?;
    match conn {
        DbConnection::Postgresql(pg) => {
            // The row lock that orders instances claiming the same endpoint (a
            // no-op write). It is its own statement on purpose: each statement
            // reads a snapshot taken when it starts, so only a statement that
            // starts after this lock is granted sees the lease a previous holder
            // committed. SQLite needs none: the caller's `BEGIN IMMEDIATE` already
            // excludes every other writer, and the write would dirty a page.
            diesel::update(webhooks::table.find(webhook_id))
                .set(webhooks::id.eq(webhook_id))
                .execute(pg)?;
            lease_and_read_at_once(pg, webhook_id, room, at, lease)
        }
        DbConnection::Sqlite(_) => {
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
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
                .set(webhook_deliveries::locked_until.eq(at + lease))
                .execute(conn)?;
            webhook_deliveries::table
                .inner_join(webhook_events::table)
                .inner_join(webhooks::table)
                .filter(webhook_deliveries::id.eq_any(&ids))
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
                .load(conn)
        }
    }
}

/// The SQLite steps of [`claim_endpoint`] after the lock (nothing in flight? the
/// oldest due ids, their lease, what sending them needs) as ONE PostgreSQL
/// statement: the sender shares the cores and the database with the requests, and
/// each round trip it saves during a burst is one a redemption does not wait behind.
fn lease_and_read_at_once(
    pg: &mut diesel::PgConnection,
    webhook_id: i64,
    room: i64,
    at: NaiveDateTime,
    lease: Duration,
) -> Result<Vec<Due>, diesel::result::Error> {
    diesel::sql_query(
        "WITH picked AS ( \
             SELECT id FROM webhook_deliveries \
             WHERE webhook_id = $1 AND status = $2 AND next_attempt_at <= $3 \
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries \
                               WHERE webhook_id = $1 AND status = $2 AND locked_until >= $3) \
             ORDER BY id LIMIT $4 \
         ), leased AS ( \
             UPDATE webhook_deliveries AS d SET locked_until = $5 \
             FROM picked WHERE d.id = picked.id \
             RETURNING d.id, d.webhook_id, d.event_id, d.attempts \
         ) \
         SELECT leased.id AS delivery_id, leased.webhook_id, leased.event_id, leased.attempts, \
                e.public_id, w.url, w.secret, e.body, e.created_at AS event_created_at \
         FROM leased \
         JOIN webhook_events AS e ON e.id = leased.event_id \
         JOIN webhooks AS w ON w.id = leased.webhook_id",
    )
    .bind::<BigInt, _>(webhook_id)
    .bind::<Text, _>(DeliveryStatus::Pending.as_str())
    .bind::<Timestamp, _>(at)
    .bind::<BigInt, _>(room)
    .bind::<Timestamp, _>(at + lease)
    .load(pg)
}

/// Claims due deliveries for `lease`, endpoint by endpoint, so that each endpoint
/// hears its events in the order they were written (README, "Order"): an endpoint
/// with a delivery in flight (leased by any instance) is skipped; otherwise its
/// oldest due deliveries are leased together, and the sender sends them one after
/// another while the lease has room (`sender::last_start`). Up to `limit`
/// deliveries in all, in delivery id order within each endpoint.
///
/// Each endpoint's claim is one write transaction that first touches the
/// endpoint's row: on PostgreSQL that row lock makes a second instance wait and
/// then see the first one's lease (a conditional UPDATE alone would let both pass
/// the "nothing in flight" check); SQLite's `BEGIN IMMEDIATE` serializes anyway.
///
/// On SQLite the events written since the last pass get their deliveries first
/// ([`super::fanout`]).
pub fn claim(conn: &mut DbConnection, limit: i64, lease: Duration) -> AppResult<Vec<Due>> {
    if let DbConnection::Sqlite(_) = conn {
        super::fanout::fan_out(conn, limit)?;
    }
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
    let mut claimed: Vec<Due> = Vec::new();
    for webhook_id in endpoints {
        let room = limit - claimed.len() as i64;
        if room <= 0 {
            break;
        }
        let mut won = write_tx(conn, |c| claim_endpoint(c, webhook_id, room, at, lease))?;
        // The sender sends each endpoint's deliveries in this order.
        won.sort_unstable_by_key(|d| d.delivery_id);
        claimed.extend(won);
    }
    Ok(claimed)
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
pub(super) fn without_waiting_for_the_flush(conn: &mut DbConnection) -> QueryResult<()> {
    match conn {
        DbConnection::Postgresql(_) => conn.batch_execute("SET LOCAL synchronous_commit = off"),
        DbConnection::Sqlite(_) => Ok(()),
    }
}
