//! The claim desk: this instance's front of every claim (`POST /batches/{id}/claim`).
//!
//! A release is thousands of residents claiming one batch at once. Committed one by
//! one, each claim takes the write lock (SQLite) or the batch row's lock
//! (PostgreSQL) for itself, and the holder is preempted by HTTP work on the same
//! cores, so the rate is one over the hold time. The desk instead:
//! 1. answers from [`Memory`] what can no longer change (`sold_out`, `claim_ended`,
//!    `claim_not_started`), without a connection (see `memory.rs` for why the
//!    precedence of API.md still holds);
//! 2. queues the rest per batch (at most `claims.max_queue`; past it 503
//!    `overloaded` with `Retry-After`, nothing changed);
//! 3. runs one writer per busy batch, on its own thread with one pooled connection,
//!    that takes up to `claims.max_group` waiting claims and commits them in ONE
//!    transaction ([`repo::group`]), then answers each. An idle writer takes the
//!    first claim at once (no added latency at low load); a busy one may wait up to
//!    `claims.max_wait_ms` for a group to fill. A writer with nothing to do for a
//!    while ends; the next claim starts another.
//!
//! A 201 is sent only after the group's COMMIT returned. A claim whose client went
//! away before its group formed is dropped unclaimed. With `claims.enabled = false`
//! every claim is its own transaction, as before.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::memory::{Known, Memory};
use super::models::VoucherRow;
use super::repo;
use super::repo::group::Seen;
use super::rules::refusal;
use crate::config::ClaimSettings;
use crate::db::{self, DbConnection, Pool};
use crate::error::{AppError, Code};
use crate::time::now;

/// How long a writer with an empty queue stays before its thread ends.
const LINGER: Duration = Duration::from_secs(2);

type Answer = Result<VoucherRow, AppError>;

struct Pending {
    user_id: i64,
    reply: oneshot::Sender<Answer>,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Pending>,
    /// The writer has left: claims go to a new lane.
    closed: bool,
}

/// One batch's queue and the signal its writer waits on.
#[derive(Default)]
struct Lane {
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl Lane {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct ClaimDesk {
    pool: Pool,
    settings: ClaimSettings,
    lanes: Mutex<HashMap<i64, Arc<Lane>>>,
    memory: Memory,
}

impl ClaimDesk {
    pub fn new(pool: Pool, settings: ClaimSettings) -> Arc<ClaimDesk> {
        Arc::new(ClaimDesk {
            pool,
            settings,
            lanes: Mutex::new(HashMap::new()),
            memory: Memory::default(),
        })
    }

    /// `Retry-After` of an `overloaded` answer, in seconds.
    pub fn retry_after_seconds(&self) -> u64 {
        self.settings.retry_after_seconds
    }

    /// Claims one voucher of `batch_id` for `user_id`: the answer of API.md's rules,
    /// or 503 `overloaded` when too many claims of the batch wait already.
    pub async fn claim(self: &Arc<Self>, batch_id: i64, user_id: i64) -> Answer {
        if !self.settings.enabled {
            return db::run(&self.pool, move |c| repo::claim(c, batch_id, user_id)).await;
        }
        let ttl = Duration::from_millis(self.settings.memory_ttl_ms);
        if let Some(code) = self.memory.answer(batch_id, user_id, now(), ttl) {
            metrics::counter!("claims_answered_from_memory_total", "code" => code.as_str()).increment(1);
            return Err(refusal(code));
        }
        let (reply, answer) = oneshot::channel();
        self.enqueue(batch_id, Pending { user_id, reply })?;
        answer
            .await
            .unwrap_or_else(|_| Err(AppError::Internal(anyhow::anyhow!("the claim writer stopped"))))
    }

    fn enqueue(self: &Arc<Self>, batch_id: i64, pending: Pending) -> Result<(), AppError> {
        loop {
            let lane = self.lane(batch_id)?;
            let mut queue = lane.lock();
            if queue.closed {
                continue;
            }
            if queue.waiting.len() >= self.settings.max_queue {
                metrics::counter!("claims_overloaded_total").increment(1);
                return Err(AppError::new(
                    Code::Overloaded,
                    "too many claims of this batch are waiting; retry shortly",
                ));
            }
            queue.waiting.push_back(pending);
            drop(queue);
            lane.ready.notify_one();
            return Ok(());
        }
    }

    /// The batch's lane, starting its writer when there is none.
    fn lane(self: &Arc<Self>, batch_id: i64) -> Result<Arc<Lane>, AppError> {
        let mut lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lane) = lanes.get(&batch_id) {
            return Ok(lane.clone());
        }
        let lane = Arc::new(Lane::default());
        let (desk, writer_lane) = (self.clone(), lane.clone());
        std::thread::Builder::new()
            .name(format!("claims-{batch_id}"))
            .spawn(move || desk.write(batch_id, writer_lane))
            .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot start a claim writer: {e}")))?;
        lanes.insert(batch_id, lane.clone());
        Ok(lane)
    }

    /// The writer of one batch: takes groups off the lane until it stays empty.
    fn write(self: Arc<Self>, batch_id: i64, lane: Arc<Lane>) {
        let _closes = CloseOnExit {
            desk: &self,
            batch_id,
            lane: &lane,
        };
        let max_group = self.settings.max_group.max(1);
        let max_wait = Duration::from_millis(self.settings.max_wait_ms);
        loop {
            let group: Vec<Pending> = {
                let mut queue = lane.lock();
                let was_idle = queue.waiting.is_empty();
                if was_idle {
                    queue = lane
                        .ready
                        .wait_timeout_while(queue, LINGER, |q| q.waiting.is_empty())
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                    if queue.waiting.is_empty() {
                        drop(queue);
                        if self.retire(batch_id, &lane) {
                            return;
                        }
                        continue;
                    }
                } else if !max_wait.is_zero() && queue.waiting.len() < max_group {
                    queue = lane
                        .ready
                        .wait_timeout_while(queue, max_wait, |q| q.waiting.len() < max_group)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
                let size = queue.waiting.len().min(max_group);
                queue.waiting.drain(..size).collect()
            };
            self.commit(batch_id, group);
        }
    }

    /// Ends the lane if nothing waits (under the lanes lock, so no claim is queued
    /// into a lane nobody serves).
    fn retire(&self, batch_id: i64, lane: &Arc<Lane>) -> bool {
        let mut lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        let mut queue = lane.lock();
        if !queue.waiting.is_empty() {
            return false;
        }
        queue.closed = true;
        if lanes.get(&batch_id).is_some_and(|l| Arc::ptr_eq(l, lane)) {
            lanes.remove(&batch_id);
        }
        true
    }

    /// Decides and commits one group, then answers each claim in it.
    fn commit(&self, batch_id: i64, group: Vec<Pending>) {
        let group: Vec<Pending> = group.into_iter().filter(|p| !p.reply.is_closed()).collect();
        if group.is_empty() {
            return;
        }
        metrics::histogram!("claim_group_size").record(group.len() as f64);
        let users: Vec<i64> = group.iter().map(|p| p.user_id).collect();
        let asked = Instant::now();
        let checkout = self.pool.get();
        crate::metrics::pool_checkout(asked.elapsed(), checkout.is_err());
        let mut conn = match checkout {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "no database connection for a claim group");
                for pending in group {
                    let _ = pending.reply.send(Err(AppError::new(
                        Code::ServiceUnavailable,
                        "the database is busy, try again",
                    )));
                }
                return;
            }
        };
        // Before the transaction reads the campaign: memory never looks fresher than it is.
        let read_at = Instant::now();
        match repo::group::claim_group(&mut conn, batch_id, &users) {
            Ok(outcome) => {
                for (pending, answer) in group.into_iter().zip(outcome.answers) {
                    let _ = pending.reply.send(answer);
                }
                if let Some(seen) = outcome.seen {
                    self.learn(&mut conn, batch_id, seen, read_at);
                }
            }
            Err(error) => {
                tracing::error!(error = ?error, batch_id, "claim group failed");
                for pending in group {
                    let _ = pending.reply.send(Err(copy_of(&error)));
                }
            }
        }
    }

    /// Remembers what the group saw; on the first sight of a sold-out batch, reads
    /// who holds the limit (final from then on).
    fn learn(&self, conn: &mut DbConnection, batch_id: i64, seen: Seen, read_at: Instant) {
        let sold_out = seen.remaining <= 0;
        let mut at_limit = self.memory.get(batch_id).and_then(|k| k.at_limit.clone());
        if sold_out && at_limit.is_none() {
            match repo::group::residents_at_limit(conn, batch_id, seen.terms.per_user_limit) {
                Ok(ids) => at_limit = Some(Arc::new(ids)),
                Err(e) => tracing::warn!(error = %e, batch_id, "could not read who holds the limit"),
            }
        }
        self.memory.remember(
            batch_id,
            Known {
                terms: seen.terms,
                sold_out,
                at_limit,
                read_at,
            },
        );
    }
}

/// The same answer for every claim of a group that failed as a whole.
fn copy_of(error: &AppError) -> AppError {
    match error {
        AppError::Problem { code, detail } => AppError::new(*code, detail.clone()),
        _ => AppError::Internal(anyhow::anyhow!("the claim group failed")),
    }
}

/// Closes a writer's lane however the writer ends (a panic included): waiting
/// claims are answered with an error instead of waiting for ever, and the next
/// claim starts a new writer.
struct CloseOnExit<'a> {
    desk: &'a ClaimDesk,
    batch_id: i64,
    lane: &'a Arc<Lane>,
}

impl Drop for CloseOnExit<'_> {
    fn drop(&mut self) {
        let mut lanes = self.desk.lanes.lock().unwrap_or_else(|e| e.into_inner());
        let mut queue = self.lane.lock();
        queue.closed = true;
        queue.waiting.clear();
        if lanes.get(&self.batch_id).is_some_and(|l| Arc::ptr_eq(l, self.lane)) {
            lanes.remove(&self.batch_id);
        }
    }
}
