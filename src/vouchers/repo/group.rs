//! A coalesced claim group: many residents' claims of one batch decided and
//! committed in ONE write transaction, each answered exactly as the one-at-a-time
//! claim would have answered it in the group's order.
//!
//! The transaction: one read of the batch and its campaign (the batch-wide checks,
//! decided once); for real-name campaigns one read of which of the group's residents
//! are verified; one query counting the group's holdings ([`holdings`]); the decisions
//! in arrival order (a resident twice in a group counts their first voucher against
//! `per_user_limit`; when fewer remain than the group wants, the earliest win); one
//! multi-row INSERT of the winners' vouchers (slot = count + 1, + 2, …); LAST the
//! hot row, once: `remaining = remaining - k WHERE remaining >= k` (on the batch
//! row, or for a sharded batch on one of its stock shards, [`super::super::stock`]),
//! and for a batch with a daily cap the day's row, once: `claimed = claimed + k`
//! guarded by the cap ([`super::super::daily`]; when today has fewer left than the
//! group wants, the earliest win and the rest are `sold_out_today`). On SQLite
//! `BEGIN IMMEDIATE` makes the reads of `remaining` and of the day's count exact. On
//! PostgreSQL with several instances the reads are not locked, so things can move
//! under a group, and each rolls the whole group back and retries it with fresh
//! reads:
//! - another instance took stock or today's share of it (a guarded statement changes
//!   no row), or no single stock shard has the group's k left: the retry locks the
//!   batch row (or every stock shard, in shard order) and then the day's row first
//!   (the order every claim takes them in), so its reads are exact;
//! - PostgreSQL broke a deadlock by aborting this group (a resident's slot awaited
//!   while the other holder waits on a row this group has locked): retried the same.
//! - another instance gave one of the group's residents the same slot (the
//!   UNIQUE(batch_id, user_id, slot) key): the retry reads the new count.
//!
//! After [`GROUP_ATTEMPTS`] the group falls back to one-at-a-time claims, which retry
//! on their own, so no group fails for good because of a neighbour.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use super::super::daily;
use super::super::models::{NewVoucher, VoucherRow};
use super::super::rules::{refusal, Terms};
use super::super::stock::{self, Read};
use super::{batch_terms, claim, prepared};
use crate::db::schema::{users, voucher_batches, vouchers};
use crate::db::{is_deadlock, is_unique_violation};
use crate::db::{write_tx, DbConnection};
use crate::error::AppError;
use crate::time::Clock;

/// Whole-group attempts before the group is claimed one at a time.
const GROUP_ATTEMPTS: usize = 4;

/// What a group's transaction read of its batch: what the instance may remember.
#[derive(Debug, Clone)]
pub struct Seen {
    pub terms: Terms,
    /// `remaining` after this group (at most: other instances may have taken more).
    pub remaining: i64,
    /// When the batch and campaign were read.
    pub at: NaiveDateTime,
    /// For a capped batch: the platform-local day of `at` and what its cap left
    /// after this group (at most, as `remaining`).
    pub today: Option<(String, i64)>,
}

/// Each claim's answer, in the group's order, and what was seen of the batch.
#[derive(Debug)]
pub struct GroupOutcome {
    pub answers: Vec<Result<VoucherRow, AppError>>,
    /// `None` when there is no such batch or the group fell back to single claims.
    pub seen: Option<Seen>,
}

enum GroupError {
    App(AppError),
    /// Another instance gave one of the group's residents a slot first.
    SlotTaken,
    /// Another instance took stock (or today's share of it) between the read and
    /// the UPDATE.
    StockMoved,
}

impl From<diesel::result::Error> for GroupError {
    fn from(e: diesel::result::Error) -> Self {
        if is_deadlock(&e) {
            GroupError::StockMoved
        } else {
            GroupError::App(e.into())
        }
    }
}

/// Claims one voucher of `batch_id` for each entry of `users` (a resident may appear
/// more than once), committing every winner in one transaction.
pub fn claim_group(
    conn: &mut DbConnection,
    clock: &Clock,
    batch_id: i64,
    users: &[i64],
) -> Result<GroupOutcome, AppError> {
    let mut lock_first = false;
    for _ in 0..GROUP_ATTEMPTS {
        match write_tx(conn, |c| group_once(c, clock, batch_id, users, lock_first)) {
            Ok(outcome) => return Ok(outcome),
            Err(GroupError::App(e)) => return Err(e),
            Err(GroupError::SlotTaken) => {
                metrics::counter!("claim_group_retries_total", "reason" => "slot_taken").increment(1);
            }
            Err(GroupError::StockMoved) => {
                metrics::counter!("claim_group_retries_total", "reason" => "stock_moved").increment(1);
                lock_first = true;
            }
        }
    }
    tracing::info!(
        batch_id,
        size = users.len(),
        "claim group contended: claiming one at a time"
    );
    let answers = users.iter().map(|&user| claim(conn, clock, batch_id, user)).collect();
    Ok(GroupOutcome { answers, seen: None })
}

fn group_once(
    conn: &mut DbConnection,
    clock: &Clock,
    batch_id: i64,
    users: &[i64],
    lock_first: bool,
) -> Result<GroupOutcome, GroupError> {
    let at = clock.now();
    let day = clock.day_of(at);
    let postgres = matches!(conn, DbConnection::Postgresql(_));
    // Whether the stock read below is the stock itself until COMMIT.
    let exact = lock_first || !postgres;
    let shards = if lock_first && postgres {
        // Every shard locked in shard order, or for a batch kept in one row a no-op
        // UPDATE that takes its lock (a capped batch's day row is locked after it,
        // below: the order every claim takes them in).
        let locked = stock::shards_of(conn, batch_id, Read::Locked)?;
        if locked.is_empty() {
            diesel::update(voucher_batches::table.filter(voucher_batches::id.eq(batch_id)))
                .set(voucher_batches::remaining.eq(voucher_batches::remaining))
                .execute(conn)?;
        }
        locked
    } else {
        stock::shards_of(conn, batch_id, Read::Snapshot)?
    };
    let Some((terms, own_stock)) = batch_terms(conn, batch_id)? else {
        let answers = users.iter().map(|_| Err(AppError::not_found())).collect();
        return Ok(GroupOutcome { answers, seen: None });
    };
    let remaining = own_stock + stock::total(&shards);
    if let Some(code) = terms.batch_refusal(at) {
        let answers = users.iter().map(|_| Err(refusal(code))).collect();
        let seen = Some(Seen {
            terms,
            remaining,
            at,
            today: None,
        });
        return Ok(GroupOutcome { answers, seen });
    }
    // What today's cap leaves, read once: `None` without a cap.
    let left_today = match terms.daily_quantity {
        Some(cap) => {
            if lock_first {
                daily::lock(conn, batch_id, &day)?;
            }
            Some(cap - daily::claimed_on(conn, batch_id, &day)?)
        }
        None => None,
    };

    let mut distinct = users.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let verified: HashSet<i64> = if terms.require_real_name {
        users::table
            .filter(users::id.eq_any(distinct.clone()))
            .filter(users::real_name_verified_at.is_not_null())
            .select(users::id)
            .load::<i64>(conn)?
            .into_iter()
            .collect()
    } else {
        HashSet::new()
    };
    let mut held = holdings(conn, batch_id, distinct)?;

    let (mut left, mut today) = (remaining, left_today);
    let mut answers: Vec<Option<Result<VoucherRow, AppError>>> = Vec::with_capacity(users.len());
    let mut winners = Vec::new();
    let mut winner_at: HashMap<String, usize> = HashMap::new();
    for (i, &user) in users.iter().enumerate() {
        let count = held.entry(user).or_insert(0);
        let refused = terms
            .resident_refusal(verified.contains(&user), *count)
            .or_else(|| Terms::stock_refusal(left, today));
        if let Some(code) = refused {
            answers.push(Some(Err(refusal(code))));
            continue;
        }
        *count += 1;
        left -= 1;
        today = today.map(|n| n - 1);
        let voucher = NewVoucher::of_batch(batch_id, &terms, user, *count, at);
        winner_at.insert(voucher.code.clone(), i);
        winners.push(voucher);
        answers.push(None);
    }

    let taking = winners.len() as i64;
    if taking > 0 && !shards.is_empty() && !exact && !stock::one_shard_has(&shards, taking) {
        // The end of a sale: the stock is there in all, but taking it needs several
        // shards, which only a transaction holding all of them may take.
        return Err(GroupError::StockMoved);
    }
    if taking > 0 {
        let rows = insert_vouchers(conn, winners).map_err(|e| {
            if is_unique_violation(&e) {
                GroupError::SlotTaken
            } else {
                e.into()
            }
        })?;
        // Row order is not promised: match each row to its claim by the unique code.
        for row in rows {
            if let Some(&i) = winner_at.get(&row.code) {
                answers[i] = Some(Ok(row));
            }
        }
        // Last: the contended row, once for the whole group.
        let taken = if shards.is_empty() {
            diesel::update(
                voucher_batches::table
                    .filter(voucher_batches::id.eq(batch_id))
                    .filter(voucher_batches::remaining.ge(taking)),
            )
            .set(voucher_batches::remaining.eq(voucher_batches::remaining - taking))
            .execute(conn)?
                == 1
        } else {
            stock::take(conn, batch_id, &shards, taking, exact)?
        };
        if !taken {
            return Err(GroupError::StockMoved);
        }
        // Then the day's row, once, guarded by the cap.
        if let Some(cap) = terms.daily_quantity {
            if !daily::take(conn, batch_id, &day, taking, cap)? {
                return Err(GroupError::StockMoved);
            }
        }
    }
    let mut missing = false;
    let answers = answers
        .into_iter()
        .map(|answer| {
            answer.unwrap_or_else(|| {
                missing = true;
                Err(AppError::Internal(anyhow::anyhow!(
                    "an inserted voucher was not returned"
                )))
            })
        })
        .collect();
    if missing {
        // Never commit a voucher whose claim is not answered 201.
        return Err(GroupError::App(AppError::Internal(anyhow::anyhow!(
            "the voucher insert returned fewer rows than it inserted"
        ))));
    }
    let seen = Some(Seen {
        terms,
        remaining: remaining - taking,
        at,
        today: today.map(|left| (day, left)),
    });
    Ok(GroupOutcome { answers, seen })
}

/// How many vouchers of `batch_id` each of `residents` (distinct) holds; a
/// resident without any may be absent.
///
/// On PostgreSQL one index probe per resident, on `(batch_id, user_id)`, whatever
/// the statistics say. Asked as `user_id = ANY(...)`, the planner chose a bitmap
/// scan of the whole batch filtered by the array whenever its statistics predated
/// the release (a fresh batch looks empty), so each group read every voucher
/// claimed so far: measured with `auto_explain` in a 3-instance storm, 748 of about
/// 1,000 groups spent over 1 ms in it, 4.2 ms on average, and more as the batch
/// filled. SQLite probes the same index for each value of an `IN` list by itself.
fn holdings(conn: &mut DbConnection, batch_id: i64, residents: Vec<i64>) -> QueryResult<HashMap<i64, i64>> {
    let rows: Vec<(i64, i64)> = match conn {
        DbConnection::Postgresql(pg) => prepared::Holdings { batch_id, residents }.load::<(i64, i64)>(pg)?,
        DbConnection::Sqlite(_) => vouchers::table
            .filter(vouchers::batch_id.eq(batch_id))
            .filter(vouchers::user_id.eq_any(residents))
            .group_by(vouchers::user_id)
            .select((vouchers::user_id, count_star()))
            .load::<(i64, i64)>(conn)?,
    };
    Ok(rows.into_iter().collect())
}

/// Rows of one multi-row INSERT on SQLite: 13 parameters each, far below its limit.
const SQLITE_ROWS_PER_INSERT: usize = 1000;

/// Inserts the winners' vouchers with multi-row INSERTs and returns their rows.
/// diesel's multi-connection has no multi-row INSERT, so each engine gets its own:
/// PostgreSQL one prepared INSERT of arrays ([`prepared::InsertVouchers`]); SQLite the statement
/// written out, `RETURNING id, code`: each row is the inserted values plus its id
/// (matched by the unique code, since RETURNING's row order is not promised), so
/// the group's vouchers are not read back: one statement and one search of the
/// code index per voucher fewer, under the write lock.
pub fn insert_vouchers(conn: &mut DbConnection, winners: Vec<NewVoucher>) -> QueryResult<Vec<VoucherRow>> {
    match conn {
        DbConnection::Postgresql(pg) => prepared::InsertVouchers::new(winners).get_results(pg),
        DbConnection::Sqlite(lite) => {
            let mut rows = Vec::with_capacity(winners.len());
            for chunk in winners.chunks(SQLITE_ROWS_PER_INSERT) {
                let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
                let mut insert = diesel::sql_query(format!(
                    "INSERT INTO vouchers (code, batch_id, campaign_id, user_id, slot, discount_fen, \
                     min_spend_fen, status, claimed_at, expires_at, usable_weekdays, usable_from, \
                     usable_to) VALUES {values} RETURNING id, code"
                ))
                .into_boxed::<diesel::sqlite::Sqlite>();
                for v in chunk {
                    insert = insert
                        .bind::<Text, _>(v.code.clone())
                        .bind::<BigInt, _>(v.batch_id)
                        .bind::<BigInt, _>(v.campaign_id)
                        .bind::<BigInt, _>(v.user_id)
                        .bind::<BigInt, _>(v.slot)
                        .bind::<BigInt, _>(v.discount_fen)
                        .bind::<BigInt, _>(v.min_spend_fen)
                        .bind::<Text, _>(v.status.as_str())
                        .bind::<Timestamp, _>(v.claimed_at)
                        .bind::<Timestamp, _>(v.expires_at)
                        .bind::<Text, _>(v.usable_weekdays.clone())
                        .bind::<Nullable<Text>, _>(v.usable_from.clone())
                        .bind::<Nullable<Text>, _>(v.usable_to.clone());
                }
                let ids: HashMap<String, i64> = insert
                    .load::<InsertedId>(lite)?
                    .into_iter()
                    .map(|r| (r.code, r.id))
                    .collect();
                // A row not returned stays missing: the caller never commits a
                // voucher it cannot answer.
                for v in chunk {
                    if let Some(&id) = ids.get(&v.code) {
                        rows.push(inserted_row(id, v.clone()));
                    }
                }
            }
            Ok(rows)
        }
    }
}

/// What SQLite's `RETURNING id, code` gives back of each inserted voucher.
#[derive(QueryableByName)]
struct InsertedId {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    code: String,
}

/// The row just inserted from `v` under `id`: exactly what a read would return.
fn inserted_row(id: i64, v: NewVoucher) -> VoucherRow {
    VoucherRow {
        id,
        code: v.code,
        batch_id: v.batch_id,
        campaign_id: v.campaign_id,
        user_id: v.user_id,
        slot: v.slot,
        discount_fen: v.discount_fen,
        min_spend_fen: v.min_spend_fen,
        status: v.status,
        claimed_at: v.claimed_at,
        expires_at: v.expires_at,
        order_id: None,
        usable_weekdays: v.usable_weekdays,
        usable_from: v.usable_from,
        usable_to: v.usable_to,
    }
}

/// The residents who hold `per_user_limit` vouchers of the batch, ascending. Once a
/// batch is sold out nobody's holding of it changes again, so this list is final.
pub fn residents_at_limit(conn: &mut DbConnection, batch_id: i64, per_user_limit: i64) -> QueryResult<Vec<i64>> {
    let mut ids: Vec<i64> = vouchers::table
        .filter(vouchers::batch_id.eq(batch_id))
        .group_by(vouchers::user_id)
        .having(count_star().ge(per_user_limit))
        .select(vouchers::user_id)
        .load(conn)?;
    ids.sort_unstable();
    Ok(ids)
}
