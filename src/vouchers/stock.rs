//! A batch's stock and where it lives: in `voucher_batches.remaining`, or spread over
//! stock shards (`batch_stock_shards`, issue 11 item 4).
//!
//! With several instances on one PostgreSQL, every claim group takes the lock of
//! the row it decrements from its UPDATE to its COMMIT; with one stock row the
//! instances' writers queue on it, and more instances add no claims. A first-come
//! batch made while `claims.stock_shards` is n > 1 is therefore made with
//! `voucher_batches.remaining = 0` and its quantity spread over n shard rows; a group
//! takes its k vouchers from ONE shard picked at random among those with k left, so
//! concurrent writers mostly lock different rows. The one rule every reader follows:
//!
//! **a batch's stock is `voucher_batches.remaining` plus the sum of its shards**
//! ([`remaining`], [`add_shard_stock`]), exact for both layouts and never
//! maintained on the claim path.
//!
//! Taking stock ([`take`]) from an unlocked read of the shards can lose a race: the
//! picked shard fell below k meanwhile, or no single shard has k left although the
//! sum has (the end of a sale). Then the caller rolls its transaction back and tries
//! again with the shards locked first ([`shards_of`] with [`Read::Locked`], all of
//! them in shard order, so two lockers never deadlock, and a locker never waits on
//! one who holds more than one shard), and takes exactly, spilling over shards in
//! shard order. On SQLite the write transaction already excludes every other writer,
//! so every read is exact.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use rand::seq::SliceRandom;

use crate::campaigns::models::BatchRow;
use crate::db::schema::{batch_stock_shards, voucher_batches};
use crate::db::DbConnection;

/// One stock shard of a batch as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable, QueryableByName)]
pub struct Shard {
    #[diesel(sql_type = BigInt)]
    pub shard: i64,
    #[diesel(sql_type = BigInt)]
    pub remaining: i64,
}

/// How [`shards_of`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// A plain read: on PostgreSQL other instances may take stock right after it.
    Snapshot,
    /// Every shard locked, in shard order (PostgreSQL): the read is the stock itself
    /// until COMMIT.
    Locked,
}

/// How `quantity` is spread over `shards` rows: as evenly as possible, never an
/// empty shard (fewer shards when the quantity is smaller than `shards`).
pub fn layout(quantity: i64, shards: usize) -> Vec<i64> {
    let n = (shards.max(1) as i64).min(quantity.max(1));
    (0..n).map(|i| quantity / n + i64::from(i < quantity % n)).collect()
}

/// Spreads a new batch's `quantity` over `shards` rows when `shards` > 1 and returns
/// what `voucher_batches.remaining` must then hold: 0 when sharded, else the
/// quantity. Call in the transaction that inserts the batch.
pub fn spread(conn: &mut DbConnection, batch_id: i64, quantity: i64, shards: usize) -> QueryResult<i64> {
    let parts = layout(quantity, shards);
    if parts.len() <= 1 {
        return Ok(quantity);
    }
    let rows: Vec<_> = parts
        .iter()
        .enumerate()
        .map(|(i, &remaining)| {
            (
                batch_stock_shards::batch_id.eq(batch_id),
                batch_stock_shards::shard.eq(i as i64),
                batch_stock_shards::remaining.eq(remaining),
            )
        })
        .collect();
    // All the shards in one multi-row INSERT (at most `MAX_STOCK_SHARDS` rows).
    let per_insert = rows.len();
    crate::db::insert_rows!(conn, batch_stock_shards::table, rows, per_insert);
    Ok(0)
}

/// The shards of `batch_id` in shard order; none for a batch kept in one row.
pub fn shards_of(conn: &mut DbConnection, batch_id: i64, read: Read) -> QueryResult<Vec<Shard>> {
    match (read, &mut *conn) {
        (Read::Locked, DbConnection::Postgresql(pg)) => diesel::sql_query(
            "SELECT shard, remaining FROM batch_stock_shards WHERE batch_id = $1 ORDER BY shard FOR UPDATE",
        )
        .bind::<BigInt, _>(batch_id)
        .load(pg),
        _ => batch_stock_shards::table
            .filter(batch_stock_shards::batch_id.eq(batch_id))
            .order(batch_stock_shards::shard)
            .select((batch_stock_shards::shard, batch_stock_shards::remaining))
            .load(conn),
    }
}

/// What the shards hold together.
pub fn total(shards: &[Shard]) -> i64 {
    shards.iter().map(|s| s.remaining).sum()
}

/// Whether [`take`] can take `k` from an unlocked read: some shard has `k` left.
pub fn one_shard_has(shards: &[Shard], k: i64) -> bool {
    shards.iter().any(|s| s.remaining >= k)
}

/// Takes `k` (≥ 1) vouchers' stock from `shards` (a non-empty read of the batch's
/// shards). `exact` says the read is the stock itself (shards [`Read::Locked`], or
/// SQLite): then a random shard with `k` left gives them all, else they spill over
/// the shards in shard order. From an unlocked read only one random shard with `k`
/// left is tried. `false`: the stock moved under the read (nothing may be committed;
/// the caller rolls back and retries with the shards locked), or, when `exact`,
/// fewer than `k` remain.
pub fn take(conn: &mut DbConnection, batch_id: i64, shards: &[Shard], k: i64, exact: bool) -> QueryResult<bool> {
    let mut rich: Vec<&Shard> = shards.iter().filter(|s| s.remaining >= k).collect();
    rich.shuffle(&mut rand::thread_rng());
    if let Some(shard) = rich.first() {
        return take_from(conn, batch_id, shard.shard, k);
    }
    if !exact || total(shards) < k {
        return Ok(false);
    }
    let mut need = k;
    for shard in shards.iter().filter(|s| s.remaining > 0) {
        let part = need.min(shard.remaining);
        if !take_from(conn, batch_id, shard.shard, part)? {
            return Ok(false);
        }
        need -= part;
        if need == 0 {
            break;
        }
    }
    Ok(need == 0)
}

/// `remaining = remaining - k` on one shard, only when it has `k` left.
/// On PostgreSQL a prepared statement ([`super::repo::TakeFromShard`]): diesel
/// never caches an UPDATE, and this one runs for every group and claim.
fn take_from(conn: &mut DbConnection, batch_id: i64, shard: i64, k: i64) -> QueryResult<bool> {
    if let DbConnection::Postgresql(pg) = conn {
        return Ok(super::repo::TakeFromShard { batch_id, shard, k }.execute(pg)? == 1);
    }
    let changed = diesel::update(
        batch_stock_shards::table
            .filter(batch_stock_shards::batch_id.eq(batch_id))
            .filter(batch_stock_shards::shard.eq(shard))
            .filter(batch_stock_shards::remaining.ge(k)),
    )
    .set(batch_stock_shards::remaining.eq(batch_stock_shards::remaining - k))
    .execute(conn)?;
    Ok(changed == 1)
}

/// What each of `batch_ids` holds in shards (absent: kept in one row). The rows are
/// summed here, not by SQL, whose SUM is numeric on PostgreSQL.
pub fn in_shards(conn: &mut DbConnection, batch_ids: &[i64]) -> QueryResult<HashMap<i64, i64>> {
    let mut sums = HashMap::new();
    if batch_ids.is_empty() {
        return Ok(sums);
    }
    let rows: Vec<(i64, i64)> = batch_stock_shards::table
        .filter(batch_stock_shards::batch_id.eq_any(batch_ids))
        .select((batch_stock_shards::batch_id, batch_stock_shards::remaining))
        .load(conn)?;
    for (batch_id, remaining) in rows {
        *sums.entry(batch_id).or_insert(0) += remaining;
    }
    Ok(sums)
}

/// Makes each row's `remaining` the batch's stock: its own column plus its shards.
pub fn add_shard_stock(conn: &mut DbConnection, rows: &mut [BatchRow]) -> QueryResult<()> {
    let ids: Vec<i64> = rows.iter().map(|b| b.id).collect();
    let sums = in_shards(conn, &ids)?;
    for row in rows {
        row.remaining += sums.get(&row.id).copied().unwrap_or(0);
    }
    Ok(())
}

/// The stock of one batch now (0 for no such batch).
pub fn remaining(conn: &mut DbConnection, batch_id: i64) -> QueryResult<i64> {
    let own: i64 = voucher_batches::table
        .find(batch_id)
        .select(voucher_batches::remaining)
        .first(conn)
        .optional()?
        .unwrap_or(0);
    Ok(own + in_shards(conn, &[batch_id])?.get(&batch_id).copied().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_spreads_evenly_and_never_makes_an_empty_shard() {
        assert_eq!(layout(10, 4), vec![3, 3, 2, 2]);
        assert_eq!(layout(3, 8), vec![1, 1, 1]);
        assert_eq!(layout(10, 1), vec![10]);
        assert_eq!(layout(16, 8).iter().sum::<i64>(), 16);
    }

    #[test]
    fn one_shard_must_hold_k_for_an_unlocked_take() {
        let shards = [Shard { shard: 0, remaining: 2 }, Shard { shard: 1, remaining: 3 }];
        assert!(one_shard_has(&shards, 3));
        assert!(!one_shard_has(&shards, 4), "5 in all, but no one shard has 4");
        assert_eq!(total(&shards), 5);
    }
}
