//! The claim group's PostgreSQL statements whose SQL diesel would otherwise send
//! unprepared on every group: the holdings count (a `sql_query`), the multi-row
//! voucher INSERT (its text grows with the group) and the stock shard's guarded
//! UPDATE (diesel never caches an UPDATE).
//!
//! Each is a query type of its own with one fixed SQL text and a static query id,
//! so diesel's statement cache prepares it once per connection and every later
//! group only binds and executes it: no parse and no plan per group. The group's
//! rows travel as arrays (`unnest`), which is what keeps the INSERT's text fixed
//! whatever the group's size. In the in-process bench with three instances,
//! PostgreSQL's CPU per claim fell by about a quarter and claims/s rose by about a
//! fifth (README, "Where three instances' CPU went on PostgreSQL").
//!
//! SQLite keeps its own statements (`group.rs`): it prepares in process, for
//! microseconds, with no server round trip to save.

use chrono::NaiveDateTime;
use diesel::pg::{Pg, PgConnection};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};
use diesel::{QueryResult, RunQueryDsl};

use super::super::models::NewVoucher;
use crate::db::schema::vouchers;

/// How many vouchers of a batch each resident holds: one index probe per resident
/// on `(batch_id, user_id)` (see `group::holdings` for why not `= ANY`).
#[derive(QueryId)]
pub struct Holdings {
    pub batch_id: i64,
    pub residents: Vec<i64>,
}

impl QueryFragment<Pg> for Holdings {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "SELECT r.user_id, \
                    (SELECT COUNT(*) FROM vouchers AS v \
                     WHERE v.batch_id = ",
        );
        out.push_bind_param::<BigInt, _>(&self.batch_id)?;
        out.push_sql(" AND v.user_id = r.user_id) FROM unnest(");
        out.push_bind_param::<Array<BigInt>, _>(&self.residents)?;
        out.push_sql("::bigint[]) AS r(user_id)");
        Ok(())
    }
}

impl Query for Holdings {
    type SqlType = (BigInt, BigInt);
}

impl RunQueryDsl<PgConnection> for Holdings {}

/// The vouchers of a group, one INSERT of fixed text: each column is an array,
/// `unnest` zips them into rows. Returns every column, as `vouchers::all_columns`.
#[derive(QueryId)]
pub struct InsertVouchers {
    code: Vec<String>,
    batch_id: Vec<i64>,
    campaign_id: Vec<i64>,
    user_id: Vec<i64>,
    slot: Vec<i64>,
    discount_fen: Vec<i64>,
    min_spend_fen: Vec<i64>,
    status: Vec<&'static str>,
    claimed_at: Vec<NaiveDateTime>,
    expires_at: Vec<NaiveDateTime>,
    usable_weekdays: Vec<String>,
    usable_from: Vec<Option<String>>,
    usable_to: Vec<Option<String>>,
}

impl InsertVouchers {
    pub fn new(winners: Vec<NewVoucher>) -> InsertVouchers {
        let n = winners.len();
        let mut q = InsertVouchers {
            code: Vec::with_capacity(n),
            batch_id: Vec::with_capacity(n),
            campaign_id: Vec::with_capacity(n),
            user_id: Vec::with_capacity(n),
            slot: Vec::with_capacity(n),
            discount_fen: Vec::with_capacity(n),
            min_spend_fen: Vec::with_capacity(n),
            status: Vec::with_capacity(n),
            claimed_at: Vec::with_capacity(n),
            expires_at: Vec::with_capacity(n),
            usable_weekdays: Vec::with_capacity(n),
            usable_from: Vec::with_capacity(n),
            usable_to: Vec::with_capacity(n),
        };
        for v in winners {
            q.code.push(v.code);
            q.batch_id.push(v.batch_id);
            q.campaign_id.push(v.campaign_id);
            q.user_id.push(v.user_id);
            q.slot.push(v.slot);
            q.discount_fen.push(v.discount_fen);
            q.min_spend_fen.push(v.min_spend_fen);
            q.status.push(v.status.as_str());
            q.claimed_at.push(v.claimed_at);
            q.expires_at.push(v.expires_at);
            q.usable_weekdays.push(v.usable_weekdays);
            q.usable_from.push(v.usable_from);
            q.usable_to.push(v.usable_to);
        }
        q
    }
}

impl QueryFragment<Pg> for InsertVouchers {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO vouchers (code, batch_id, campaign_id, user_id, slot, discount_fen, \
             min_spend_fen, status, claimed_at, expires_at, usable_weekdays, usable_from, usable_to) \
             SELECT * FROM unnest(",
        );
        out.push_bind_param::<Array<Text>, _>(&self.code)?;
        out.push_sql("::text[], ");
        for ids in [
            &self.batch_id,
            &self.campaign_id,
            &self.user_id,
            &self.slot,
            &self.discount_fen,
            &self.min_spend_fen,
        ] {
            out.push_bind_param::<Array<BigInt>, _>(ids)?;
            out.push_sql("::bigint[], ");
        }
        out.push_bind_param::<Array<Text>, _>(&self.status)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Timestamp>, _>(&self.claimed_at)?;
        out.push_sql("::timestamp[], ");
        out.push_bind_param::<Array<Timestamp>, _>(&self.expires_at)?;
        out.push_sql("::timestamp[], ");
        out.push_bind_param::<Array<Text>, _>(&self.usable_weekdays)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.usable_from)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.usable_to)?;
        out.push_sql(
            "::text[]) RETURNING id, code, batch_id, campaign_id, user_id, slot, discount_fen, \
             min_spend_fen, status, claimed_at, expires_at, order_id, usable_weekdays, usable_from, \
             usable_to",
        );
        Ok(())
    }
}

impl Query for InsertVouchers {
    type SqlType = vouchers::SqlType;
}

impl RunQueryDsl<PgConnection> for InsertVouchers {}

/// `remaining = remaining - k` on one stock shard, only when it has `k` left.
#[derive(QueryId)]
pub struct TakeFromShard {
    pub batch_id: i64,
    pub shard: i64,
    pub k: i64,
}

impl QueryFragment<Pg> for TakeFromShard {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("UPDATE batch_stock_shards SET remaining = remaining - ");
        out.push_bind_param::<BigInt, _>(&self.k)?;
        out.push_sql(" WHERE batch_id = ");
        out.push_bind_param::<BigInt, _>(&self.batch_id)?;
        out.push_sql(" AND shard = ");
        out.push_bind_param::<BigInt, _>(&self.shard)?;
        out.push_sql(" AND remaining >= ");
        out.push_bind_param::<BigInt, _>(&self.k)?;
        Ok(())
    }
}

impl RunQueryDsl<PgConnection> for TakeFromShard {}

// Cached by type: each statement's id is static (checked when compiling).
const _: () = assert!(Holdings::HAS_STATIC_QUERY_ID && InsertVouchers::HAS_STATIC_QUERY_ID);
const _: () = assert!(TakeFromShard::HAS_STATIC_QUERY_ID);

#[cfg(test)]
mod tests {
    use super::*;

    /// diesel's cache keeps a statement only when its walk says it is safe to (a
    /// bind list, a literal or an `IN` would make it unsafe): the claim path's
    /// figures depend on these three being kept.
    #[test]
    fn each_statement_is_one_that_diesel_keeps_prepared() {
        let backend = Pg;
        let holdings = Holdings {
            batch_id: 1,
            residents: vec![1, 2],
        };
        assert!(holdings.is_safe_to_cache_prepared(&backend).expect("walk"));
        let insert = InsertVouchers::new(Vec::new());
        assert!(insert.is_safe_to_cache_prepared(&backend).expect("walk"));
        let take = TakeFromShard {
            batch_id: 1,
            shard: 0,
            k: 3,
        };
        assert!(take.is_safe_to_cache_prepared(&backend).expect("walk"));
    }
}
