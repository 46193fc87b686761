//! What the sender's POSTs came to: the retry schedule, and each pass's attempts
//! logged and its deliveries moved (delivered, due again, or failed).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp};

use super::lease::{release, without_waiting_for_the_flush, Claimed, Due};
use super::models::{DeliveryStatus, NewAttempt};
use crate::db::schema::webhook_attempts;
use crate::db::{write_tx, DbConnection};
use crate::error::{AppError, AppResult};

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

/// Records a whole pass's attempts in one write transaction: each attempt logged,
/// each delivery moved as [`next_move`] says. One commit for the pass instead of
/// one per attempt; should it fail, every delivery of the pass stays pending under
/// its lease and is sent again once the lease lapses (a duplicate, which the
/// contract allows).
///
/// On PostgreSQL the pass's attempts are ONE statement (the attempts inserted from
/// arrays, the deliveries moved from arrays), whatever its size, and the lease's
/// release one more: the sender runs beside the requests on the same cores and
/// database, and during a burst of redemptions each of its round trips is time a
/// redemption waits for (`benches/webhooks.rs`). On SQLite, two statements per
/// [`ROWS_PER_STATEMENT`] attempts: the write lock this transaction holds is the
/// one redemptions wait for, and a pass's 100 statements (an INSERT and an UPDATE
/// per attempt) had held it for 1.7 ms.
///
/// The pass's lease of its endpoints ends in the same transaction: what it had no
/// time to send is still pending, and the next pass (of any instance) sends it, in
/// order.
pub fn record(conn: &mut DbConnection, sent: &[(Due, Outcome)], lease: &Claimed, backoff: Backoff) -> AppResult<()> {
    write_tx(conn, |c| {
        without_waiting_for_the_flush(c)?;
        match c {
            DbConnection::Postgresql(pg) => record_pass_at_once(pg, sent, backoff)?,
            DbConnection::Sqlite(sqlite) => record_pass_in_two(sqlite, sent, backoff)?,
        }
        release(c, lease)?;
        Ok::<_, AppError>(())
    })
}

/// Where one attempt leaves its delivery.
#[derive(Debug, Clone, PartialEq)]
struct Move {
    status: DeliveryStatus,
    attempts: i64,
    /// When it is due again; `None` keeps the column as it is (delivered).
    next_attempt_at: Option<NaiveDateTime>,
    /// Set once delivered.
    delivered_at: Option<NaiveDateTime>,
}

/// Delivered on a 2xx; else due again after the backoff, or failed once the next
/// try would fall past the retry window (counted from the event's creation).
fn next_move(due: &Due, outcome: &Outcome, backoff: Backoff) -> Move {
    let attempts = due.attempts + 1;
    if outcome.acknowledged() {
        return Move {
            status: DeliveryStatus::Delivered,
            attempts,
            next_attempt_at: None,
            delivered_at: Some(outcome.at),
        };
    }
    let next = outcome.at + backoff.delay(attempts);
    let status = if next > due.event_created_at + backoff.window {
        DeliveryStatus::Failed
    } else {
        DeliveryStatus::Pending
    };
    Move {
        status,
        attempts,
        next_attempt_at: Some(next),
        delivered_at: None,
    }
}

fn attempt_row(due: &Due, outcome: &Outcome) -> NewAttempt {
    NewAttempt {
        delivery_id: due.delivery_id,
        webhook_id: due.webhook_id,
        event_id: due.event_id,
        attempted_at: outcome.at,
        status_code: outcome.status_code.map(i32::from),
        error: outcome.error.clone(),
        duration_ms: outcome.duration_ms,
    }
}

/// Attempts per statement of [`record_pass_in_two`]: 7 bound values each for the
/// INSERT, 5 for the UPDATE, far below SQLite's 32,766.
const ROWS_PER_STATEMENT: usize = 100;

/// The pass's attempts on SQLite: one multi-row INSERT logs them, and one UPDATE
/// moves their deliveries from a `VALUES` list of the new values, still only while
/// `pending` (only the lease holder gets here, but a late duplicate then changes
/// nothing), per [`ROWS_PER_STATEMENT`]. The same moves as [`record_pass_at_once`]
/// makes on PostgreSQL.
fn record_pass_in_two(
    sqlite: &mut diesel::SqliteConnection,
    sent: &[(Due, Outcome)],
    backoff: Backoff,
) -> QueryResult<()> {
    for chunk in sent.chunks(ROWS_PER_STATEMENT) {
        let logged: Vec<NewAttempt> = chunk.iter().map(|(due, outcome)| attempt_row(due, outcome)).collect();
        diesel::insert_into(webhook_attempts::table)
            .values(logged)
            .execute(sqlite)?;
        let rows = vec!["(?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let mut moving = diesel::sql_query(format!(
            "WITH m(id, status, attempts, next_attempt_at, delivered_at) AS (VALUES {rows}) \
             UPDATE webhook_deliveries \
             SET status = m.status, attempts = m.attempts, \
                 next_attempt_at = COALESCE(m.next_attempt_at, webhook_deliveries.next_attempt_at), \
                 delivered_at = COALESCE(m.delivered_at, webhook_deliveries.delivered_at) \
             FROM m WHERE webhook_deliveries.id = m.id AND webhook_deliveries.status = ?"
        ))
        .into_boxed::<diesel::sqlite::Sqlite>();
        for (due, outcome) in chunk {
            let to = next_move(due, outcome, backoff);
            moving = moving
                .bind::<BigInt, _>(due.delivery_id)
                .bind::<Text, _>(to.status.as_str())
                .bind::<BigInt, _>(to.attempts)
                .bind::<Nullable<Timestamp>, _>(to.next_attempt_at)
                .bind::<Nullable<Timestamp>, _>(to.delivered_at);
        }
        moving
            .bind::<Text, _>(DeliveryStatus::Pending.as_str())
            .execute(sqlite)?;
    }
    Ok(())
}

/// The pass's attempts on PostgreSQL, in one statement: the attempts inserted from
/// column arrays (`unnest`), and in the same statement every delivery moved as
/// [`next_move`] says, from arrays of its new values, still only while `pending`.
fn record_pass_at_once(pg: &mut diesel::PgConnection, sent: &[(Due, Outcome)], backoff: Backoff) -> QueryResult<()> {
    if sent.is_empty() {
        return Ok(());
    }
    let attempts: Vec<NewAttempt> = sent.iter().map(|(due, outcome)| attempt_row(due, outcome)).collect();
    let moves: Vec<Move> = sent
        .iter()
        .map(|(due, outcome)| next_move(due, outcome, backoff))
        .collect();
    diesel::sql_query(
        "WITH logged AS ( \
             INSERT INTO webhook_attempts \
                 (delivery_id, webhook_id, event_id, attempted_at, status_code, error, duration_ms) \
             SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::TIMESTAMP[], \
                                  $5::INTEGER[], $6::TEXT[], $7::BIGINT[]) \
         ) \
         UPDATE webhook_deliveries AS d \
         SET status = m.status, attempts = m.attempts, \
             next_attempt_at = COALESCE(m.next_attempt_at, d.next_attempt_at), \
             delivered_at = COALESCE(m.delivered_at, d.delivered_at) \
         FROM unnest($8::BIGINT[], $9::TEXT[], $10::BIGINT[], $11::TIMESTAMP[], $12::TIMESTAMP[]) \
             AS m(id, status, attempts, next_attempt_at, delivered_at) \
         WHERE d.id = m.id AND d.status = $13",
    )
    .bind::<Array<BigInt>, _>(attempts.iter().map(|a| a.delivery_id).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(attempts.iter().map(|a| a.webhook_id).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(attempts.iter().map(|a| a.event_id).collect::<Vec<_>>())
    .bind::<Array<Timestamp>, _>(attempts.iter().map(|a| a.attempted_at).collect::<Vec<_>>())
    .bind::<Array<Nullable<Integer>>, _>(attempts.iter().map(|a| a.status_code).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(attempts.iter().map(|a| a.error.clone()).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(attempts.iter().map(|a| a.duration_ms).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(sent.iter().map(|(due, _)| due.delivery_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(moves.iter().map(|m| m.status.as_str()).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(moves.iter().map(|m| m.attempts).collect::<Vec<_>>())
    .bind::<Array<Nullable<Timestamp>>, _>(moves.iter().map(|m| m.next_attempt_at).collect::<Vec<_>>())
    .bind::<Array<Nullable<Timestamp>>, _>(moves.iter().map(|m| m.delivered_at).collect::<Vec<_>>())
    .bind::<Text, _>(DeliveryStatus::Pending.as_str())
    .execute(pg)?;
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

    #[test]
    fn an_attempt_delivers_retries_or_fails_past_the_window() {
        let backoff = Backoff {
            initial: Duration::seconds(10),
            max: Duration::hours(1),
            window: Duration::hours(24),
        };
        let created = chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .map(|t| t.naive_utc())
            .unwrap_or_default();
        let due = Due {
            delivery_id: 1,
            webhook_id: 2,
            event_id: 3,
            public_id: "evt_x".to_owned(),
            url: "http://127.0.0.1/hook".to_owned(),
            secret: "whsec_x".to_owned(),
            body: "{}".to_owned(),
            attempts: 2,
            event_created_at: created,
        };
        let answered = |status: Option<u16>, after: Duration| Outcome {
            at: created + after,
            status_code: status,
            error: None,
            duration_ms: 1,
        };
        let ok = next_move(&due, &answered(Some(204), Duration::minutes(1)), backoff);
        assert_eq!((ok.status, ok.attempts), (DeliveryStatus::Delivered, 3));
        assert_eq!(
            (ok.next_attempt_at, ok.delivered_at),
            (None, Some(created + Duration::minutes(1)))
        );
        // The third failure waits 40 s.
        let again = next_move(&due, &answered(Some(500), Duration::minutes(1)), backoff);
        assert_eq!(again.status, DeliveryStatus::Pending);
        assert_eq!(
            again.next_attempt_at,
            Some(created + Duration::minutes(1) + Duration::seconds(40))
        );
        assert_eq!(again.delivered_at, None);
        // No answer, and the next try would fall after the 24 h window: failed.
        let late = next_move(&due, &answered(None, Duration::hours(24)), backoff);
        assert_eq!(late.status, DeliveryStatus::Failed);
    }
}
