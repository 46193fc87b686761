//! The daily cap of a first-come batch (`daily_quantity`, API.md "Fair release"):
//! at most that many claims per platform-local calendar day, 409 `sold_out_today`
//! past it, the count restarting at local midnight.
//!
//! The count lives in `batch_day_claims(batch_id, day, claimed)`, one row per batch
//! and local day. A claim (or a coalesced group taking k) adds to its day's row with
//! ONE guarded upsert in the claim's own transaction: inserted with k when the day
//! has no row yet, else `claimed = claimed + k` only `WHERE claimed + k <= cap`.
//! PostgreSQL evaluates that guard on the latest committed row (the row lock makes
//! concurrent instances queue), SQLite under the write lock, so no day ever
//! exceeds its cap on either engine. A new day is a new row: nothing has to reset.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::schema::batch_day_claims;
use crate::db::DbConnection;

/// The claims of `batch_id` on `day` so far.
pub fn claimed_on(conn: &mut DbConnection, batch_id: i64, day: &str) -> QueryResult<i64> {
    Ok(batch_day_claims::table
        .filter(batch_day_claims::batch_id.eq(batch_id))
        .filter(batch_day_claims::day.eq(day))
        .select(batch_day_claims::claimed)
        .first::<i64>(conn)
        .optional()?
        .unwrap_or(0))
}

/// The claims of each of `batch_ids` on `day` (absent: none).
pub fn claimed_on_many(conn: &mut DbConnection, batch_ids: &[i64], day: &str) -> QueryResult<HashMap<i64, i64>> {
    if batch_ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(batch_day_claims::table
        .filter(batch_day_claims::batch_id.eq_any(batch_ids))
        .filter(batch_day_claims::day.eq(day))
        .select((batch_day_claims::batch_id, batch_day_claims::claimed))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect())
}

/// Adds `k` (1 ≤ k ≤ `cap`) claims to `day`'s count when that stays within `cap`;
/// `false` (nothing changed) when it would not.
pub fn take(conn: &mut DbConnection, batch_id: i64, day: &str, k: i64, cap: i64) -> QueryResult<bool> {
    const UPSERT: &str = "INSERT INTO batch_day_claims (batch_id, day, claimed) VALUES ({1}, {2}, {3}) \
         ON CONFLICT (batch_id, day) DO UPDATE SET claimed = batch_day_claims.claimed + excluded.claimed \
         WHERE batch_day_claims.claimed + excluded.claimed <= {4}";
    debug_assert!(k >= 1 && k <= cap);
    let changed = match conn {
        DbConnection::Postgresql(pg) => diesel::sql_query(placeholders(UPSERT, "$"))
            .bind::<BigInt, _>(batch_id)
            .bind::<Text, _>(day)
            .bind::<BigInt, _>(k)
            .bind::<BigInt, _>(cap)
            .execute(pg)?,
        DbConnection::Sqlite(lite) => diesel::sql_query(placeholders(UPSERT, "?"))
            .bind::<BigInt, _>(batch_id)
            .bind::<Text, _>(day)
            .bind::<BigInt, _>(k)
            .bind::<BigInt, _>(cap)
            .execute(lite)?,
    };
    Ok(changed == 1)
}

/// Takes `day`'s row lock (creating the row at 0), so that a read after it is the
/// count itself: PostgreSQL's retry of a group that lost a race. A no-op on SQLite,
/// whose write transaction already excludes every other writer.
pub fn lock(conn: &mut DbConnection, batch_id: i64, day: &str) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        diesel::sql_query(
            "INSERT INTO batch_day_claims (batch_id, day, claimed) VALUES ($1, $2, 0) \
             ON CONFLICT (batch_id, day) DO UPDATE SET claimed = batch_day_claims.claimed",
        )
        .bind::<BigInt, _>(batch_id)
        .bind::<Text, _>(day)
        .execute(pg)?;
    }
    Ok(())
}

/// `{n}` → `$n` (PostgreSQL) or `?` (SQLite, whose parameters bind in order).
fn placeholders(sql: &str, style: &str) -> String {
    let mut out = sql.to_owned();
    for n in 1..=4 {
        let with = if style == "$" { format!("${n}") } else { "?".to_owned() };
        out = out.replace(&format!("{{{n}}}"), &with);
    }
    out
}

/// What a batch shows as `remaining_today`: null without a cap; else the cap less
/// today's claims, never below 0 and never above `remaining`.
pub fn remaining_today(cap: Option<i64>, claimed_today: i64, remaining: i64) -> Option<i64> {
    cap.map(|cap| (cap - claimed_today).min(remaining).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_today_is_bounded_by_the_cap_and_the_stock() {
        assert_eq!(remaining_today(None, 3, 10), None);
        assert_eq!(remaining_today(Some(5), 3, 10), Some(2));
        assert_eq!(remaining_today(Some(5), 0, 1), Some(1), "never above remaining");
        assert_eq!(remaining_today(Some(5), 7, 10), Some(0), "never below 0");
    }

    #[test]
    fn placeholders_follow_each_engine() {
        assert_eq!(placeholders("a {1} b {2}", "$"), "a $1 b $2");
        assert_eq!(placeholders("a {1} b {2}", "?"), "a ? b ?");
    }
}
