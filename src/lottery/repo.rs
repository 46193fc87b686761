//! Entries in the database: one resident's entry into a lottery batch, and the
//! resident's list.
//!
//! An entry is one `write_tx`: one read of the batch's terms (the batch-wide checks,
//! in the claim order, with `wrong_allocation` first), the resident's verification
//! and whether they entered already; then `entries = entries + 1` on the batch,
//! returning the new count as the `entry_no`, and the INSERT. Two parallel entries
//! of one resident on PostgreSQL can both read "not entered": the second INSERT
//! fails on UNIQUE(batch_id, user_id), and the whole transaction (the counter too)
//! rolls back, answered `already_entered`, so numbers stay gap-free.

use diesel::prelude::*;

use super::models::{EntryRow, EntryStatus, NewEntry};
use crate::campaigns::models::{Allocation, BatchRow, CampaignStatus};
use crate::db::is_unique_violation;
use crate::db::schema::{batch_entries, campaigns, users, voucher_batches};
use crate::db::{write_tx, DbConnection};
use crate::error::{AppError, Code};
use crate::http::PageRequest;
use crate::time::now;
use crate::vouchers::repo::batch_terms;
use crate::vouchers::rules::refusal;

/// Enters `user_id` into the lottery batch `batch_id`; the first failing check of
/// API.md's order decides the error.
pub fn enter(conn: &mut DbConnection, batch_id: i64, user_id: i64) -> Result<EntryRow, AppError> {
    write_tx(conn, |c| {
        let at = now();
        let (terms, _) = batch_terms(c, batch_id)?.ok_or_else(AppError::not_found)?;
        if let Some(code) = terms.refusal_for(Allocation::Lottery, at) {
            return Err(refusal(code));
        }
        let verified = terms.require_real_name
            && users::table
                .filter(users::id.eq(user_id))
                .select(users::real_name_verified_at)
                .first::<Option<chrono::NaiveDateTime>>(c)?
                .is_some();
        let entered = batch_entries::table
            .filter(batch_entries::batch_id.eq(batch_id))
            .filter(batch_entries::user_id.eq(user_id))
            .select(batch_entries::id)
            .first::<i64>(c)
            .optional()?
            .is_some();
        if let Some(code) = terms.entrant_refusal(verified, entered) {
            return Err(refusal(code));
        }
        // Guarded by `draw_started_at IS NULL`: an entry that checked the window just
        // before it closed but reaches the row after a drawer fixed the entry count
        // (PostgreSQL re-reads the row after the drawer's lock) is refused, so every
        // entry the draw ranks is one it counted.
        let entry_no: i64 = diesel::update(
            voucher_batches::table
                .filter(voucher_batches::id.eq(batch_id))
                .filter(voucher_batches::draw_started_at.is_null()),
        )
        .set(voucher_batches::entries.eq(voucher_batches::entries + 1))
        .returning(voucher_batches::entries)
        .get_result(c)
        .optional()?
        .ok_or_else(|| refusal(Code::ClaimEnded))?;
        diesel::insert_into(batch_entries::table)
            .values(NewEntry {
                batch_id,
                user_id,
                entry_no,
                entered_at: at,
                status: EntryStatus::Entered,
            })
            .returning(batch_entries::all_columns)
            .get_result(c)
            .map_err(|e| {
                if is_unique_violation(&e) {
                    refusal(Code::AlreadyEntered)
                } else {
                    e.into()
                }
            })
    })
}

/// One page of the user's entries, newest first.
pub fn list_for_user(conn: &mut DbConnection, user_id: i64, page: PageRequest) -> QueryResult<Vec<EntryRow>> {
    let mut query = batch_entries::table
        .filter(batch_entries::user_id.eq(user_id))
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(batch_entries::id.lt(after));
    }
    query.order(batch_entries::id.desc()).limit(page.fetch()).load(conn)
}

/// A lottery or first-come batch whose campaign the caller may see: any status but
/// draft to anyone (a draw stays verifiable after its campaign ended), any to an
/// administrator.
pub fn visible_batch(conn: &mut DbConnection, batch_id: i64, any_status: bool) -> QueryResult<Option<BatchRow>> {
    let mut query = voucher_batches::table
        .inner_join(campaigns::table)
        .filter(voucher_batches::id.eq(batch_id))
        .select(voucher_batches::all_columns)
        .into_boxed();
    if !any_status {
        query = query.filter(campaigns::status.ne(CampaignStatus::Draft));
    }
    query.first(conn).optional()
}

/// One page of a drawn batch's winning entry numbers, ascending.
pub fn winners_page(conn: &mut DbConnection, batch_id: i64, page: PageRequest) -> QueryResult<Vec<i64>> {
    let mut query = batch_entries::table
        .filter(batch_entries::batch_id.eq(batch_id))
        .filter(batch_entries::status.eq(EntryStatus::Won))
        .select(batch_entries::entry_no)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(batch_entries::entry_no.gt(after));
    }
    query
        .order(batch_entries::entry_no.asc())
        .limit(page.fetch())
        .load(conn)
}

/// Writes entries taken elsewhere into a batch in one transaction (multi-row
/// INSERTs), numbered 1, 2, 3 … in the order given, and sets the batch's count:
/// `seed-demo`'s and the `draw` benchmark's way to a batch of 200,000 entries.
/// The batch must have no entries yet.
pub fn load_entries(
    conn: &mut DbConnection,
    batch_id: i64,
    entrants: &[(i64, chrono::NaiveDateTime)],
) -> QueryResult<()> {
    const ROWS_PER_INSERT: usize = 5_000;
    write_tx(conn, |c| {
        for (chunk_no, chunk) in entrants.chunks(ROWS_PER_INSERT).enumerate() {
            let rows: Vec<NewEntry> = chunk
                .iter()
                .enumerate()
                .map(|(i, &(user_id, entered_at))| NewEntry {
                    batch_id,
                    user_id,
                    entry_no: (chunk_no * ROWS_PER_INSERT + i + 1) as i64,
                    entered_at,
                    status: EntryStatus::Entered,
                })
                .collect();
            // diesel's multi-connection has no multi-row INSERT: each engine's own.
            match c {
                DbConnection::Postgresql(pg) => diesel::insert_into(batch_entries::table).values(rows).execute(pg)?,
                DbConnection::Sqlite(lite) => diesel::insert_into(batch_entries::table).values(rows).execute(lite)?,
            };
        }
        diesel::update(voucher_batches::table.find(batch_id))
            .set(voucher_batches::entries.eq(entrants.len() as i64))
            .execute(c)?;
        Ok(())
    })
}
