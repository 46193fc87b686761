//! Entries in the database: one resident's entry into a lottery batch, a coalesced
//! group of entries (the hot path of an entry storm), and the resident's list.
//!
//! An entry is one `write_tx`: one read of the batch's terms (the batch-wide checks,
//! in the claim order, with `wrong_allocation` first), the resident's verification
//! and whether they entered already; then `entries = entries + 1` on the batch,
//! returning the new count as the `entry_no`, and the INSERT. Two parallel entries
//! of one resident on PostgreSQL can both read "not entered": the second INSERT
//! fails on UNIQUE(batch_id, user_id), and the whole transaction (the counter too)
//! rolls back, answered `already_entered`, so numbers stay gap-free.
//!
//! A group ([`enter_group`]) is one `write_tx` for many residents of one batch: one
//! read of the terms, one read of which of the group's residents are verified (on
//! real-name campaigns) and which entered already; the decisions in arrival order (a
//! resident twice in one group is `already_entered` the second time); then ONE
//! `UPDATE voucher_batches SET entries = entries + k WHERE draw_started_at IS NULL
//! RETURNING entries` (the counter row is taken once per group, not per entry) and
//! one multi-row INSERT numbered `last - k + 1 ..= last` in arrival order. A
//! resident who entered through another instance meanwhile fails the unique key: the
//! whole group (its counter update too) rolls back and is decided again with fresh
//! reads, so a rolled-back group burns no numbers.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::models::{EntryRow, EntryStatus, NewEntry};
use crate::campaigns::models::{Allocation, BatchRow, CampaignStatus};
use crate::db::is_unique_violation;
use crate::db::schema::{batch_entries, campaigns, users, voucher_batches};
use crate::db::{write_tx, DbConnection};
use crate::error::{AppError, Code};
use crate::http::PageRequest;
use crate::time::Clock;
use crate::vouchers::repo::batch_terms;
use crate::vouchers::rules::refusal;

/// Enters `user_id` into the lottery batch `batch_id`; the first failing check of
/// API.md's order decides the error.
pub fn enter(conn: &mut DbConnection, clock: &Clock, batch_id: i64, user_id: i64) -> Result<EntryRow, AppError> {
    write_tx(conn, |c| {
        let at = clock.now();
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

/// Whole-group attempts before the group enters one at a time.
const GROUP_ATTEMPTS: usize = 4;

enum GroupError {
    App(AppError),
    /// One of the group's residents entered through another instance meanwhile.
    Entered,
}

impl From<diesel::result::Error> for GroupError {
    fn from(e: diesel::result::Error) -> Self {
        GroupError::App(e.into())
    }
}

/// Enters each of `users` (a resident may appear more than once) into the lottery
/// batch `batch_id`, every accepted entry committed in one transaction; each answer
/// is what [`enter`] would give in the group's order.
pub fn enter_group(
    conn: &mut DbConnection,
    clock: &Clock,
    batch_id: i64,
    users: &[i64],
) -> Result<Vec<Result<EntryRow, AppError>>, AppError> {
    for _ in 0..GROUP_ATTEMPTS {
        match write_tx(conn, |c| enter_group_once(c, clock, batch_id, users)) {
            Ok(answers) => return Ok(answers),
            Err(GroupError::App(e)) => return Err(e),
            Err(GroupError::Entered) => continue,
        }
    }
    tracing::info!(
        batch_id,
        size = users.len(),
        "entry group contended: entering one at a time"
    );
    Ok(users.iter().map(|&user| enter(conn, clock, batch_id, user)).collect())
}

fn enter_group_once(
    conn: &mut DbConnection,
    clock: &Clock,
    batch_id: i64,
    users: &[i64],
) -> Result<Vec<Result<EntryRow, AppError>>, GroupError> {
    let at = clock.now();
    let Some((terms, _)) = batch_terms(conn, batch_id)? else {
        return Ok(users.iter().map(|_| Err(AppError::not_found())).collect());
    };
    if let Some(code) = terms.refusal_for(Allocation::Lottery, at) {
        return Ok(users.iter().map(|_| Err(refusal(code))).collect());
    }
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
    let mut entered: HashSet<i64> = batch_entries::table
        .filter(batch_entries::batch_id.eq(batch_id))
        .filter(batch_entries::user_id.eq_any(distinct))
        .select(batch_entries::user_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect();

    // Decided in arrival order: `None` marks an accepted entry, numbered below.
    let mut answers: Vec<Option<Result<EntryRow, AppError>>> = Vec::with_capacity(users.len());
    let mut accepted = Vec::new();
    for &user in users {
        match terms.entrant_refusal(verified.contains(&user), entered.contains(&user)) {
            Some(code) => answers.push(Some(Err(refusal(code)))),
            None => {
                entered.insert(user);
                accepted.push(user);
                answers.push(None);
            }
        }
    }
    if accepted.is_empty() {
        return Ok(answers.into_iter().flatten().collect());
    }
    let k = accepted.len() as i64;
    // The counter row, once for the group; guarded as a single entry is (d3a368b).
    let Some(last) = diesel::update(
        voucher_batches::table
            .filter(voucher_batches::id.eq(batch_id))
            .filter(voucher_batches::draw_started_at.is_null()),
    )
    .set(voucher_batches::entries.eq(voucher_batches::entries + k))
    .returning(voucher_batches::entries)
    .get_result::<i64>(conn)
    .optional()?
    else {
        // A drawer fixed the count: the window is over for the whole group.
        return Ok(users.iter().map(|_| Err(refusal(Code::ClaimEnded))).collect());
    };
    let rows: Vec<NewEntry> = accepted
        .iter()
        .enumerate()
        .map(|(i, &user_id)| NewEntry {
            batch_id,
            user_id,
            entry_no: last - k + 1 + i as i64,
            entered_at: at,
            status: EntryStatus::Entered,
        })
        .collect();
    let mut inserted = insert_entries(conn, rows, at).map_err(|e| {
        if is_unique_violation(&e) {
            GroupError::Entered
        } else {
            e.into()
        }
    })?;
    if inserted.len() != accepted.len() {
        // Never commit an entry whose resident is not answered 201.
        return Err(GroupError::App(AppError::Internal(anyhow::anyhow!(
            "the entry insert returned {} rows for {} entries",
            inserted.len(),
            accepted.len()
        ))));
    }
    // Entry numbers follow arrival order: the accepted answers in order of entry_no.
    inserted.sort_by_key(|row| row.entry_no);
    let mut rows = inserted.into_iter();
    Ok(answers
        .into_iter()
        .map(|answer| match answer {
            Some(refused) => refused,
            None => rows
                .next()
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("an inserted entry was not returned"))),
        })
        .collect())
}

/// Rows of one multi-row INSERT on SQLite: 5 parameters each, far below its limit.
const SQLITE_ROWS_PER_INSERT: usize = 2000;

/// Inserts a group's entries with multi-row INSERTs and returns their rows:
/// PostgreSQL diesel's batch insert with RETURNING; SQLite the statement written out
/// (diesel's multi-connection has no multi-row INSERT), its rows read back by
/// entry number under the write lock this transaction holds.
fn insert_entries(conn: &mut DbConnection, rows: Vec<NewEntry>, at: NaiveDateTime) -> QueryResult<Vec<EntryRow>> {
    match conn {
        DbConnection::Postgresql(pg) => diesel::insert_into(batch_entries::table)
            .values(rows)
            .returning(batch_entries::all_columns)
            .get_results(pg),
        DbConnection::Sqlite(lite) => {
            let mut out = Vec::with_capacity(rows.len());
            for chunk in rows.chunks(SQLITE_ROWS_PER_INSERT) {
                let values = vec!["(?, ?, ?, ?, ?)"; chunk.len()].join(", ");
                let mut insert = diesel::sql_query(format!(
                    "INSERT INTO batch_entries (batch_id, user_id, entry_no, entered_at, status) VALUES {values}"
                ))
                .into_boxed::<diesel::sqlite::Sqlite>();
                for row in chunk {
                    insert = insert
                        .bind::<BigInt, _>(row.batch_id)
                        .bind::<BigInt, _>(row.user_id)
                        .bind::<BigInt, _>(row.entry_no)
                        .bind::<Timestamp, _>(at)
                        .bind::<Text, _>(row.status.as_str());
                }
                insert.execute(lite)?;
                let (first, last) = (chunk[0].entry_no, chunk[chunk.len() - 1].entry_no);
                let batch_id = chunk[0].batch_id;
                out.extend(
                    batch_entries::table
                        .filter(batch_entries::batch_id.eq(batch_id))
                        .filter(batch_entries::entry_no.between(first, last))
                        .load::<EntryRow>(lite)?,
                );
            }
            Ok(out)
        }
    }
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
