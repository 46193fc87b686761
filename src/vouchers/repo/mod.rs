//! Vouchers in the database: the one-at-a-time claim transaction, the coalesced
//! group ([`group`]: the hot path of a voucher stampede) and the wallet listing.
//!
//! A single claim is one `write_tx` of four statements (five with a daily cap): one
//! read of the batch, its campaign, the caller's count in the batch and (cheaply,
//! always) the caller's verification; for a capped batch the day's count
//! ([`super::daily`]); the voucher INSERT (slot = count + 1, guarded by
//! UNIQUE(batch_id, user_id, slot)); and, LAST, the contended conditional
//! `UPDATE voucher_batches SET remaining = remaining - 1 WHERE id = ? AND remaining > 0`,
//! then the day's guarded upsert (for a sharded batch the UPDATE is on one of its
//! stock shards with stock, [`super::stock`]; a shard emptied meanwhile on
//! PostgreSQL retries the claim with a fresh read). Updating the hot rows last keeps their row locks
//! (PostgreSQL) for one round trip only, the COMMIT; no row changed means sold out
//! (or, for the day row, sold out today) and the whole claim rolls back. Every
//! claim path takes the batch row before the day row, so they never deadlock. On PostgreSQL two parallel claims of one resident can read the same count;
//! the loser's INSERT fails on the unique key, and the whole transaction is retried
//! with a fresh count (each such failure means a claim of that resident committed,
//! so the retries are bounded by `per_user_limit`).

pub mod group;
mod prepared;
pub(super) use prepared::TakeFromShard;

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;
use rand::Rng;

use super::daily;
use super::models::{NewVoucher, VoucherRow};
use super::rules::{refusal, Terms};
use super::status::{filter_by_status, VoucherStatus};
use super::stock::{self, Read};
use super::usable::UsableWindow;
use crate::campaigns::models::{Allocation, CampaignStatus};
use crate::db::schema::{campaigns, users, voucher_batches, vouchers};
use crate::db::{is_deadlock, is_unique_violation};
use crate::db::{write_tx, DbConnection};
use crate::error::{AppError, Code};
use crate::http::PageRequest;
use crate::time::Clock;

/// Characters of a voucher code: Crockford's base32 (no I, L, O, U), 5 bits each.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 20 characters: 10 of time, 10 of randomness (see [`new_code`]).
const CODE_LENGTH: usize = 20;
/// Characters of each half of a code, 50 bits.
const CODE_HALF: u32 = 10;
/// Whole-transaction attempts of one claim; see the module comment for the bound.
const MAX_CLAIM_ATTEMPTS: usize = 102;

/// A fresh voucher code, laid out like a ULID: the first half is the milliseconds
/// since 1970, the second 50 random bits. Codes made later sort later, so the
/// unique index on `code` grows at its end: a group of claims adds its codes to
/// one or two leaf pages instead of one random page each, and every page a claim
/// transaction dirties is a page written to the WAL at commit (the claim storm's
/// writer spent a third of its time in those writes). 50 random bits per
/// millisecond keep codes unguessable and collisions out of reach; the unique
/// index still has the last word (a collision retries the group).
pub fn new_code() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let random: u64 = rand::thread_rng().gen::<u64>() >> (64 - 5 * CODE_HALF);
    let mut code = String::with_capacity(CODE_LENGTH);
    push_base32(&mut code, millis);
    push_base32(&mut code, random);
    code
}

/// Appends the low 50 bits of `value`, most significant first, as [`CODE_HALF`]
/// characters.
fn push_base32(code: &mut String, value: u64) {
    for i in (0..CODE_HALF).rev() {
        code.push(CODE_ALPHABET[((value >> (5 * i)) & 31) as usize] as char);
    }
}

/// The batch and campaign columns [`Terms`] is made of, plus `remaining`.
#[derive(Debug, Queryable)]
struct TermsRow {
    campaign_id: i64,
    discount_fen: i64,
    min_spend_fen: i64,
    remaining: i64,
    per_user_limit: i64,
    claim_starts_at: NaiveDateTime,
    claim_ends_at: NaiveDateTime,
    valid_days: i64,
    #[diesel(deserialize_as = String)]
    campaign_status: CampaignStatus,
    campaign_starts_at: NaiveDateTime,
    campaign_ends_at: NaiveDateTime,
    require_real_name: bool,
    #[diesel(deserialize_as = String)]
    allocation: Allocation,
    usable_weekdays: String,
    usable_from: Option<String>,
    usable_to: Option<String>,
    daily_quantity: Option<i64>,
}

impl TermsRow {
    fn split(self) -> (Terms, i64) {
        let terms = Terms {
            campaign_id: self.campaign_id,
            discount_fen: self.discount_fen,
            min_spend_fen: self.min_spend_fen,
            per_user_limit: self.per_user_limit,
            claim_starts_at: self.claim_starts_at,
            claim_ends_at: self.claim_ends_at,
            valid_days: self.valid_days,
            campaign_status: self.campaign_status,
            campaign_starts_at: self.campaign_starts_at,
            campaign_ends_at: self.campaign_ends_at,
            require_real_name: self.require_real_name,
            allocation: self.allocation,
            daily_quantity: self.daily_quantity,
            usable: UsableWindow::from_stored(
                &self.usable_weekdays,
                self.usable_from.as_deref(),
                self.usable_to.as_deref(),
            ),
        };
        (terms, self.remaining)
    }
}

/// The selection of [`TermsRow`], from `voucher_batches` joined to `campaigns`.
macro_rules! terms_columns {
    () => {
        (
            voucher_batches::campaign_id,
            voucher_batches::discount_fen,
            voucher_batches::min_spend_fen,
            voucher_batches::remaining,
            voucher_batches::per_user_limit,
            voucher_batches::claim_starts_at,
            voucher_batches::claim_ends_at,
            voucher_batches::valid_days,
            campaigns::status,
            campaigns::starts_at,
            campaigns::ends_at,
            campaigns::require_real_name,
            voucher_batches::allocation,
            voucher_batches::usable_weekdays,
            voucher_batches::usable_from,
            voucher_batches::usable_to,
            voucher_batches::daily_quantity,
        )
    };
}

/// A batch's terms and its `remaining` now; `None` when there is no such batch.
pub fn batch_terms(conn: &mut DbConnection, batch_id: i64) -> QueryResult<Option<(Terms, i64)>> {
    let row: Option<TermsRow> = voucher_batches::table
        .inner_join(campaigns::table)
        .filter(voucher_batches::id.eq(batch_id))
        .select(terms_columns!())
        .first(conn)
        .optional()?;
    Ok(row.map(TermsRow::split))
}

/// Everything a single claim decides on, read in one query.
#[derive(Debug, Queryable)]
struct ClaimContext {
    terms: TermsRow,
    /// The caller's vouchers of this batch so far.
    held: Option<i64>,
    /// When the caller's real name was verified, if ever.
    verified_at: Option<NaiveDateTime>,
}

enum ClaimError {
    App(AppError),
    /// Another claim of this resident took the slot first: retry with a fresh count.
    SlotTaken,
    /// Another claim emptied the stock shard this one picked (or PostgreSQL broke a
    /// deadlock by aborting it): retry with a fresh read of the shards.
    StockMoved,
}

impl From<diesel::result::Error> for ClaimError {
    fn from(e: diesel::result::Error) -> Self {
        if is_deadlock(&e) {
            ClaimError::StockMoved
        } else {
            ClaimError::App(e.into())
        }
    }
}

impl From<AppError> for ClaimError {
    fn from(e: AppError) -> Self {
        ClaimError::App(e)
    }
}

/// Claims one voucher of `batch_id` for `user_id` in its own transaction; the first
/// failing check of API.md's order decides the error.
pub fn claim(conn: &mut DbConnection, clock: &Clock, batch_id: i64, user_id: i64) -> Result<VoucherRow, AppError> {
    let mut stock_moved = false;
    for _ in 0..MAX_CLAIM_ATTEMPTS {
        match write_tx(conn, |c| claim_once(c, clock, batch_id, user_id)) {
            Ok(voucher) => return Ok(voucher),
            Err(ClaimError::App(e)) => return Err(e),
            Err(ClaimError::SlotTaken) => stock_moved = false,
            Err(ClaimError::StockMoved) => stock_moved = true,
        }
    }
    if stock_moved {
        // Each retry saw stock that others took first: nothing changed, try later.
        return Err(AppError::new(
            Code::Overloaded,
            "too many claims of this batch raced for its last vouchers; retry shortly",
        ));
    }
    Err(refusal(Code::ClaimLimitReached))
}

fn claim_once(conn: &mut DbConnection, clock: &Clock, batch_id: i64, user_id: i64) -> Result<VoucherRow, ClaimError> {
    let at = clock.now();
    let shards = stock::shards_of(conn, batch_id, Read::Snapshot)?;
    let held = vouchers::table
        .filter(vouchers::batch_id.eq(batch_id))
        .filter(vouchers::user_id.eq(user_id))
        .select(count_star())
        .single_value();
    let verified_at = users::table
        .filter(users::id.eq(user_id))
        .select(users::real_name_verified_at)
        .single_value();
    let ctx: ClaimContext = voucher_batches::table
        .inner_join(campaigns::table)
        .filter(voucher_batches::id.eq(batch_id))
        .select((terms_columns!(), held, verified_at))
        .first(conn)?;
    let (terms, own_stock) = ctx.terms.split();
    let remaining = own_stock + stock::total(&shards);
    let held = ctx.held.unwrap_or(0);
    let day = clock.day_of(at);
    let refused = match terms.batch_refusal(at) {
        Some(code) => Some(code),
        None => match terms.resident_refusal(ctx.verified_at.is_some(), held) {
            Some(code) => Some(code),
            // `remaining` only ever falls, so a zero read now is final: skip the writes.
            None => {
                let left_today = match terms.daily_quantity {
                    Some(cap) => Some(cap - daily::claimed_on(conn, batch_id, &day)?),
                    None => None,
                };
                Terms::stock_refusal(remaining, left_today)
            }
        },
    };
    if let Some(code) = refused {
        return Err(ClaimError::App(refusal(code)));
    }

    let voucher: VoucherRow = diesel::insert_into(vouchers::table)
        .values(NewVoucher::of_batch(batch_id, &terms, user_id, held + 1, at))
        .returning(vouchers::all_columns)
        .get_result(conn)
        .map_err(|e| {
            if is_unique_violation(&e) {
                ClaimError::SlotTaken
            } else {
                e.into()
            }
        })?;

    // Last: the contended row. Zero rows means another claim took the last one
    // (of a sharded batch: the last of the picked shard, which on PostgreSQL says
    // nothing of the others, so the claim retries with a fresh read of them).
    if shards.is_empty() {
        let taken = diesel::update(
            voucher_batches::table
                .filter(voucher_batches::id.eq(batch_id))
                .filter(voucher_batches::remaining.gt(0)),
        )
        .set(voucher_batches::remaining.eq(voucher_batches::remaining - 1))
        .execute(conn)?;
        if taken == 0 {
            return Err(ClaimError::App(refusal(Code::SoldOut)));
        }
    } else {
        let exact = matches!(conn, DbConnection::Sqlite(_));
        if !stock::take(conn, batch_id, &shards, 1, exact)? {
            return Err(if exact {
                ClaimError::App(refusal(Code::SoldOut))
            } else {
                ClaimError::StockMoved
            });
        }
    }
    // Then the day's count: no row changed means another claim took today's last.
    if let Some(cap) = terms.daily_quantity {
        if !daily::take(conn, batch_id, &day, 1, cap)? {
            return Err(ClaimError::App(refusal(Code::SoldOutToday)));
        }
    }
    Ok(voucher)
}

/// One page of the user's vouchers, newest first, optionally of one effective status.
pub fn list_for_user(
    conn: &mut DbConnection,
    user_id: i64,
    status: Option<VoucherStatus>,
    at: NaiveDateTime,
    page: PageRequest,
) -> QueryResult<Vec<VoucherRow>> {
    let mut query = vouchers::table.filter(vouchers::user_id.eq(user_id)).into_boxed();
    if let Some(status) = status {
        query = filter_by_status(query, status, at);
    }
    if let Some(after) = page.after {
        query = query.filter(vouchers::id.lt(after));
    }
    query.order(vouchers::id.desc()).limit(page.fetch()).load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_crockford_base32_and_sort_by_time() {
        let first = new_code();
        std::thread::sleep(std::time::Duration::from_millis(3));
        let later: Vec<String> = (0..1000).map(|_| new_code()).collect();
        for code in later.iter().chain(std::iter::once(&first)) {
            assert_eq!(code.len(), CODE_LENGTH);
            assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)), "{code}");
        }
        assert!(later.iter().all(|code| *code > first), "a later code sorts later");
        let distinct: std::collections::HashSet<&String> = later.iter().collect();
        assert_eq!(distinct.len(), later.len(), "random halves differ within a millisecond");
        // The time half is the clock's milliseconds, not a counter.
        let millis = first[..CODE_HALF as usize].bytes().fold(0_u64, |value, b| {
            let digit = CODE_ALPHABET.iter().position(|&a| a == b).unwrap_or(0) as u64;
            value * 32 + digit
        });
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        assert!(now >= millis && now - millis < 60_000, "{millis} vs {now}");
    }
}
