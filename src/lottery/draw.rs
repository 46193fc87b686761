//! The draw of a lottery batch (API.md, Fair release): after the entry window closes
//! the winners are ranked by [`rank::winners`] and each gets one voucher.
//!
//! A draw is several transactions, so that 50,000 winners are issued in a few bulk
//! INSERTs rather than one transaction each, and it is safe to run on several
//! instances at once, to be interrupted at any point and to be resumed:
//! 1. **Start**: a conditional UPDATE fixes `draw_started_at` (the draw time: every
//!    winner's `claimed_at`) if no drawer has. From then on entries are refused
//!    (`lottery::repo::enter` guards its counter on it), so `entries` is final.
//! 2. **Winners**, `lottery.winners_per_transaction` at a time, in the same order on
//!    every drawer (the ranking is a pure function of seed, entries and quantity):
//!    `status = 'won' WHERE status = 'entered'` on the chunk's entries FIRST, so a
//!    chunk another drawer has committed changes no row and is skipped (on
//!    PostgreSQL the UPDATE waits for that drawer's commit, then re-reads); then
//!    the chunk's vouchers in one multi-row INSERT and each entry's `voucher_id`.
//! 3. **Finish**: every entry still `entered` becomes `lost`, `remaining` becomes
//!    `quantity − winners` and `drawn_at` is set (it publishes the seed), guarded by
//!    `drawn_at IS NULL` so it happens once.
//!
//! A crash leaves `draw_started_at` set and `drawn_at` NULL: the next pass of any
//! instance's job ([`run_forever`]) resumes with the chunks not yet committed.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::models::EntryStatus;
use super::rank;
use super::seed::DrawSeed;
use crate::audit::{self, AuditTarget};
use crate::campaigns::models::{Allocation, BatchRow};
use crate::config::LotterySettings;
use crate::db::schema::{batch_entries, voucher_batches};
use crate::db::{write_tx, DbConnection, Pool};
use crate::error::{AppError, Code};
use crate::time::now;
use crate::vouchers::models::NewVoucher;
use crate::vouchers::repo::batch_terms;
use crate::vouchers::repo::group::insert_vouchers;
use crate::vouchers::rules::refusal;

/// Why a batch cannot be drawn now.
#[derive(Debug, PartialEq, Eq)]
pub enum NotDrawable {
    NoSuchBatch,
    FirstCome,
    /// The entry window is still open.
    StillOpen,
    AlreadyDrawn,
}

impl From<NotDrawable> for AppError {
    fn from(reason: NotDrawable) -> AppError {
        match reason {
            NotDrawable::NoSuchBatch => AppError::not_found(),
            NotDrawable::FirstCome => refusal(Code::WrongAllocation),
            NotDrawable::StillOpen => AppError::invalid_state("the entry window has not closed yet"),
            NotDrawable::AlreadyDrawn => AppError::invalid_state("this batch has been drawn already"),
        }
    }
}

/// Draws `batch_id` now (or finishes a draw another drawer started) and returns the
/// batch as it stands afterwards; `actor` is the administrator who asked (audited as
/// `batch.draw` with the start), `None` for the job. Errors: [`NotDrawable`], or
/// the database's.
pub fn draw(
    conn: &mut DbConnection,
    settings: &LotterySettings,
    batch_id: i64,
    actor: Option<i64>,
) -> Result<BatchRow, AppError> {
    whole_draw(conn, settings, batch_id, actor, now())
}

/// The draw as it would have run at `at` (after the entry window): `seed-demo`'s
/// way to make a past draw with the real ranking and issuing.
pub fn draw_as_of(
    conn: &mut DbConnection,
    settings: &LotterySettings,
    batch_id: i64,
    at: NaiveDateTime,
) -> Result<BatchRow, AppError> {
    whole_draw(conn, settings, batch_id, None, at)
}

/// Every step of the draw, as of `at`.
fn whole_draw(
    conn: &mut DbConnection,
    settings: &LotterySettings,
    batch_id: i64,
    actor: Option<i64>,
    at: NaiveDateTime,
) -> Result<BatchRow, AppError> {
    draw_steps(conn, settings, batch_id, actor, at, usize::MAX)?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a whole draw finishes")))
}

/// A draw that stops after `chunks` winner transactions, as a crash there would
/// leave it (`draw_started_at` set, `drawn_at` NULL): what the resume tests and the
/// `draw` benchmark start from. `Ok(None)` when it stopped before finishing.
pub fn draw_interrupted_after(
    conn: &mut DbConnection,
    settings: &LotterySettings,
    batch_id: i64,
    chunks: usize,
) -> Result<Option<BatchRow>, AppError> {
    draw_steps(conn, settings, batch_id, None, now(), chunks)
}

fn draw_steps(
    conn: &mut DbConnection,
    settings: &LotterySettings,
    batch_id: i64,
    actor: Option<i64>,
    at: NaiveDateTime,
    max_chunks: usize,
) -> Result<Option<BatchRow>, AppError> {
    let batch = start(conn, batch_id, at, actor)?;
    let drawn_at = batch
        .draw_started_at
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a started draw has a draw time")))?;
    let seed = batch
        .draw_seed
        .as_deref()
        .and_then(DrawSeed::from_hex)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a lottery batch has a stored seed")))?;
    let winners = rank::winners(seed.bytes(), batch.entries, batch.quantity);
    for (n, chunk) in winners.chunks(settings.winners_per_transaction.max(1)).enumerate() {
        if n == max_chunks {
            return Ok(None);
        }
        write_tx(conn, |c| issue_chunk(c, batch_id, chunk, drawn_at))?;
    }
    write_tx(conn, |c| finish(c, batch_id, drawn_at)).map(Some)
}

/// Step 1: fixes the draw time if nobody has; returns the batch with it.
fn start(conn: &mut DbConnection, batch_id: i64, at: NaiveDateTime, actor: Option<i64>) -> Result<BatchRow, AppError> {
    write_tx(conn, |c| {
        let batch: BatchRow = voucher_batches::table
            .find(batch_id)
            .first(c)
            .optional()?
            .ok_or(NotDrawable::NoSuchBatch)?;
        if batch.allocation != Allocation::Lottery {
            return Err(NotDrawable::FirstCome.into());
        }
        if batch.drawn_at.is_some() {
            return Err(NotDrawable::AlreadyDrawn.into());
        }
        if at < batch.claim_ends_at {
            return Err(NotDrawable::StillOpen.into());
        }
        diesel::update(
            voucher_batches::table
                .filter(voucher_batches::id.eq(batch_id))
                .filter(voucher_batches::draw_started_at.is_null()),
        )
        .set(voucher_batches::draw_started_at.eq(at))
        .execute(c)?;
        if let Some(actor) = actor {
            audit::record(c, actor, AuditTarget::Batch, "draw", batch_id, None)?;
        }
        // Read again: on PostgreSQL the entry count is final only once the row holds
        // a draw time (ours or an earlier drawer's), and entries wait on its lock.
        Ok(voucher_batches::table.find(batch_id).first(c)?)
    })
}

/// Step 2 for one chunk of winning entry numbers; a chunk already committed by
/// another drawer changes nothing.
fn issue_chunk(conn: &mut DbConnection, batch_id: i64, chunk: &[i64], drawn_at: NaiveDateTime) -> Result<(), AppError> {
    let in_chunk = || {
        batch_entries::table
            .filter(batch_entries::batch_id.eq(batch_id))
            .filter(batch_entries::entry_no.eq_any(chunk))
    };
    let marked = diesel::update(in_chunk().filter(batch_entries::status.eq(EntryStatus::Entered)))
        .set(batch_entries::status.eq(EntryStatus::Won))
        .execute(conn)?;
    if marked == 0 {
        return Ok(());
    }
    if marked != chunk.len() {
        // Chunks are the same on every drawer and each commits whole, so a chunk is
        // either untouched or done: anything else is a broken invariant.
        return Err(AppError::Internal(anyhow::anyhow!("a draw chunk was partly issued")));
    }
    let (terms, _) = batch_terms(conn, batch_id)?.ok_or_else(AppError::not_found)?;
    let winners: Vec<i64> = in_chunk().select(batch_entries::user_id).load(conn)?;
    let new: Vec<NewVoucher> = winners
        .into_iter()
        .map(|user_id| NewVoucher::of_batch(batch_id, &terms, user_id, 1, drawn_at))
        .collect();
    insert_vouchers(conn, new)?;
    link_vouchers(conn, batch_id)?;
    Ok(())
}

/// Sets the `voucher_id` of the batch's winning entries that have none yet (this
/// chunk's), in one statement: a correlated subquery finds each winner's voucher
/// through UNIQUE(batch_id, user_id, slot). diesel's DSL has no correlated subquery
/// in SET, so this one statement is SQL text (`$n` parameters work on both engines).
fn link_vouchers(conn: &mut DbConnection, batch_id: i64) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE batch_entries SET voucher_id = \
           (SELECT v.id FROM vouchers v WHERE v.batch_id = batch_entries.batch_id \
              AND v.user_id = batch_entries.user_id AND v.slot = 1) \
         WHERE batch_id = $1 AND status = $2 AND voucher_id IS NULL",
    )
    .bind::<BigInt, _>(batch_id)
    .bind::<Text, _>(EntryStatus::Won.as_str())
    .execute(conn)
}

/// Step 3: losers, `remaining` and `drawn_at`, once.
fn finish(conn: &mut DbConnection, batch_id: i64, drawn_at: NaiveDateTime) -> Result<BatchRow, AppError> {
    diesel::update(
        batch_entries::table
            .filter(batch_entries::batch_id.eq(batch_id))
            .filter(batch_entries::status.eq(EntryStatus::Entered)),
    )
    .set(batch_entries::status.eq(EntryStatus::Lost))
    .execute(conn)?;
    let winners: i64 = batch_entries::table
        .filter(batch_entries::batch_id.eq(batch_id))
        .filter(batch_entries::status.eq(EntryStatus::Won))
        .count()
        .get_result(conn)?;
    diesel::update(
        voucher_batches::table
            .filter(voucher_batches::id.eq(batch_id))
            .filter(voucher_batches::drawn_at.is_null()),
    )
    .set((
        voucher_batches::remaining.eq(voucher_batches::quantity - winners),
        voucher_batches::drawn_at.eq(drawn_at),
    ))
    .execute(conn)?;
    Ok(voucher_batches::table.find(batch_id).first(conn)?)
}

/// Lottery batches whose entry window closed at least `after_close` ago and whose
/// draw has not finished, oldest first.
pub fn due(conn: &mut DbConnection, at: NaiveDateTime, after_close: Duration) -> QueryResult<Vec<i64>> {
    let closed_before = at - chrono::Duration::from_std(after_close).unwrap_or_default();
    voucher_batches::table
        .filter(voucher_batches::allocation.eq(Allocation::Lottery))
        .filter(voucher_batches::drawn_at.is_null())
        .filter(voucher_batches::claim_ends_at.le(closed_before))
        .order(voucher_batches::claim_ends_at.asc())
        .select(voucher_batches::id)
        .load(conn)
}

/// One pass of the job: draws every due batch; returns how many it finished.
pub fn run_pass(conn: &mut DbConnection, settings: &LotterySettings) -> Result<usize, AppError> {
    let mut drawn = 0;
    for batch_id in due(conn, now(), Duration::from_millis(settings.draw_after_close_ms))? {
        match draw(conn, settings, batch_id, None) {
            Ok(_) => drawn += 1,
            // Another instance finished it between our read and our draw.
            Err(e) if e.code() == Code::InvalidState => {}
            Err(e) => return Err(e),
        }
    }
    Ok(drawn)
}

/// Runs a pass every `lottery.draw_interval_ms` until the task is dropped. A failed
/// pass is logged and the next one tries again (resuming any started draw).
pub async fn run_forever(pool: Pool, settings: Arc<LotterySettings>) {
    let mut ticker = tokio::time::interval(Duration::from_millis(settings.draw_interval_ms.max(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let pool = pool.clone();
        let settings = settings.clone();
        let pass = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
            let mut conn = pool.get()?;
            run_pass(&mut conn, &settings).map_err(|e| anyhow::anyhow!("{e:?}"))
        })
        .await;
        match pass {
            Ok(Ok(0)) => {}
            Ok(Ok(drawn)) => tracing::info!(drawn, "lottery batches drawn"),
            Ok(Err(error)) => tracing::warn!(error = %error, "draw pass failed"),
            Err(error) => tracing::warn!(error = %error, "draw task failed"),
        }
    }
}
