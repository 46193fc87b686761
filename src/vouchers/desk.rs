//! The claim desk: this instance's front of every claim (`POST /batches/{id}/claim`)
//! and every lottery entry (`POST /batches/{id}/entries`).
//!
//! A release is thousands of residents claiming one batch at once. Committed one by
//! one, each claim takes the write lock (SQLite) or the batch row's lock
//! (PostgreSQL) for itself, and the holder is preempted by HTTP work on the same
//! cores, so the rate is one over the hold time. The desk instead:
//! 1. answers from [`Memory`] what can no longer change (`sold_out`, `claim_ended`,
//!    `claim_not_started`, and `sold_out_today` for the rest of that day), without a
//!    connection (see `memory.rs` for why the
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
//! Entries take the same way (their own lane per batch, the same knobs): a group of
//! entries is one transaction that takes the batch's entry counter once
//! ([`crate::lottery::repo::enter_group`]) instead of once per entry. Memory does not
//! answer entries: an entry window's end is answered by the database.
//!
//! A 201 is sent only after the group's COMMIT returned. A claim or entry whose
//! client went away before its group formed is dropped. With `claims.enabled =
//! false` every claim and entry is its own transaction, as before.

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
use crate::lottery::models::EntryRow;
use crate::time::Clock;

/// How long a writer with an empty queue stays before its thread ends.
const LINGER: Duration = Duration::from_secs(2);

type Answer = Result<VoucherRow, AppError>;
type EntryAnswer = Result<EntryRow, AppError>;

/// What a lane's writer commits: claims of a first-come batch or entries into a
/// lottery batch. A batch has at most one lane of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Claim,
    Entry,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Claim => "claims",
            Kind::Entry => "entries",
        }
    }
}

/// A lane's key: the batch and what is asked of it.
type LaneKey = (i64, Kind);

/// Where a waiting request's answer goes.
enum Reply {
    Claim(oneshot::Sender<Answer>),
    Entry(oneshot::Sender<EntryAnswer>),
}

impl Reply {
    fn is_closed(&self) -> bool {
        match self {
            Reply::Claim(tx) => tx.is_closed(),
            Reply::Entry(tx) => tx.is_closed(),
        }
    }

    fn fail(self, error: AppError) {
        match self {
            Reply::Claim(tx) => {
                let _ = tx.send(Err(error));
            }
            Reply::Entry(tx) => {
                let _ = tx.send(Err(error));
            }
        }
    }
}

struct Pending {
    user_id: i64,
    reply: Reply,
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
    lanes: Mutex<HashMap<LaneKey, Arc<Lane>>>,
    memory: Memory,
    /// The instance's clock: claim windows and the daily cap's day.
    clock: Clock,
}

impl ClaimDesk {
    pub fn new(pool: Pool, settings: ClaimSettings, clock: Clock) -> Arc<ClaimDesk> {
        Arc::new(ClaimDesk {
            pool,
            settings,
            clock,
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
            let clock = self.clock.clone();
            return db::run(&self.pool, move |c| repo::claim(c, &clock, batch_id, user_id)).await;
        }
        let ttl = Duration::from_millis(self.settings.memory_ttl_ms);
        let at = self.clock.now();
        if let Some(code) = self.memory.answer(batch_id, user_id, at, &self.clock.day_of(at), ttl) {
            metrics::counter!("claims_answered_from_memory_total", "code" => code.as_str()).increment(1);
            return Err(refusal(code));
        }
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            user_id,
            reply: Reply::Claim(reply),
        };
        self.enqueue((batch_id, Kind::Claim), pending)?;
        answer
            .await
            .unwrap_or_else(|_| Err(AppError::Internal(anyhow::anyhow!("the claim writer stopped"))))
    }

    /// Enters `user_id` into the lottery batch `batch_id`: the answer of API.md's
    /// entry rules, or 503 `overloaded` when too many entries of the batch wait.
    pub async fn enter(self: &Arc<Self>, batch_id: i64, user_id: i64) -> EntryAnswer {
        if !self.settings.enabled {
            let clock = self.clock.clone();
            return db::run(&self.pool, move |c| {
                crate::lottery::repo::enter(c, &clock, batch_id, user_id)
            })
            .await;
        }
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            user_id,
            reply: Reply::Entry(reply),
        };
        self.enqueue((batch_id, Kind::Entry), pending)?;
        answer
            .await
            .unwrap_or_else(|_| Err(AppError::Internal(anyhow::anyhow!("the entry writer stopped"))))
    }

    fn enqueue(self: &Arc<Self>, key: LaneKey, pending: Pending) -> Result<(), AppError> {
        loop {
            let lane = self.lane(key)?;
            let mut queue = lane.lock();
            if queue.closed {
                continue;
            }
            if queue.waiting.len() >= self.settings.max_queue {
                match key.1 {
                    Kind::Claim => metrics::counter!("claims_overloaded_total").increment(1),
                    Kind::Entry => metrics::counter!("entries_overloaded_total").increment(1),
                }
                return Err(AppError::new(
                    Code::Overloaded,
                    match key.1 {
                        Kind::Claim => "too many claims of this batch are waiting; retry shortly",
                        Kind::Entry => "too many entries of this batch are waiting; retry shortly",
                    },
                ));
            }
            queue.waiting.push_back(pending);
            drop(queue);
            lane.ready.notify_one();
            return Ok(());
        }
    }

    /// The lane of `key`, starting its writer when there is none.
    fn lane(self: &Arc<Self>, key: LaneKey) -> Result<Arc<Lane>, AppError> {
        let mut lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lane) = lanes.get(&key) {
            return Ok(lane.clone());
        }
        let lane = Arc::new(Lane::default());
        let (desk, writer_lane) = (self.clone(), lane.clone());
        std::thread::Builder::new()
            .name(format!("{}-{}", key.1.name(), key.0))
            .spawn(move || desk.write(key, writer_lane))
            .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot start a claim writer: {e}")))?;
        lanes.insert(key, lane.clone());
        Ok(lane)
    }

    /// The writer of one lane: takes groups off it until it stays empty.
    fn write(self: Arc<Self>, key: LaneKey, lane: Arc<Lane>) {
        let _closes = CloseOnExit {
            desk: &self,
            key,
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
                        if self.retire(key, &lane) {
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
            match key.1 {
                Kind::Claim => self.commit(key.0, group),
                Kind::Entry => self.commit_entries(key.0, group),
            }
        }
    }

    /// Ends the lane if nothing waits (under the lanes lock, so no claim is queued
    /// into a lane nobody serves).
    fn retire(&self, key: LaneKey, lane: &Arc<Lane>) -> bool {
        let mut lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        let mut queue = lane.lock();
        if !queue.waiting.is_empty() {
            return false;
        }
        queue.closed = true;
        if lanes.get(&key).is_some_and(|l| Arc::ptr_eq(l, lane)) {
            lanes.remove(&key);
        }
        true
    }

    /// A pooled connection for a group, or every request of it answered 503.
    fn connection(&self, group: &mut Vec<Pending>) -> Option<db::PooledConnection> {
        let asked = Instant::now();
        let checkout = self.pool.get();
        crate::metrics::pool_checkout(asked.elapsed(), checkout.is_err());
        match checkout {
            Ok(conn) => Some(conn),
            Err(e) => {
                tracing::warn!(error = %e, "no database connection for a claim or entry group");
                for pending in group.drain(..) {
                    pending.reply.fail(AppError::new(
                        Code::ServiceUnavailable,
                        "the database is busy, try again",
                    ));
                }
                None
            }
        }
    }

    /// Decides and commits one group of entries, then answers each.
    fn commit_entries(&self, batch_id: i64, group: Vec<Pending>) {
        let mut group: Vec<Pending> = group.into_iter().filter(|p| !p.reply.is_closed()).collect();
        if group.is_empty() {
            return;
        }
        metrics::histogram!("entry_group_size").record(group.len() as f64);
        let users: Vec<i64> = group.iter().map(|p| p.user_id).collect();
        let Some(mut conn) = self.connection(&mut group) else {
            return;
        };
        match crate::lottery::repo::enter_group(&mut conn, &self.clock, batch_id, &users) {
            Ok(answers) => {
                for (pending, answer) in group.into_iter().zip(answers) {
                    match pending.reply {
                        Reply::Entry(tx) => {
                            let _ = tx.send(answer);
                        }
                        other => other.fail(AppError::Internal(anyhow::anyhow!("a claim in an entry lane"))),
                    }
                }
            }
            Err(error) => {
                tracing::error!(error = ?error, batch_id, "entry group failed");
                for pending in group {
                    pending.reply.fail(copy_of(&error));
                }
            }
        }
    }

    /// Decides and commits one group, then answers each claim in it.
    fn commit(&self, batch_id: i64, group: Vec<Pending>) {
        let mut group: Vec<Pending> = group.into_iter().filter(|p| !p.reply.is_closed()).collect();
        if group.is_empty() {
            return;
        }
        metrics::histogram!("claim_group_size").record(group.len() as f64);
        let users: Vec<i64> = group.iter().map(|p| p.user_id).collect();
        let Some(mut conn) = self.connection(&mut group) else {
            return;
        };
        // Before the transaction reads the campaign: memory never looks fresher than it is.
        let read_at = Instant::now();
        match repo::group::claim_group(&mut conn, &self.clock, batch_id, &users) {
            Ok(outcome) => {
                for (pending, answer) in group.into_iter().zip(outcome.answers) {
                    match pending.reply {
                        Reply::Claim(tx) => {
                            let _ = tx.send(answer);
                        }
                        other => other.fail(AppError::Internal(anyhow::anyhow!("an entry in a claim lane"))),
                    }
                }
                if let Some(seen) = outcome.seen {
                    self.learn(&mut conn, batch_id, seen, read_at);
                }
            }
            Err(error) => {
                tracing::error!(error = ?error, batch_id, "claim group failed");
                for pending in group {
                    pending.reply.fail(copy_of(&error));
                }
            }
        }
    }

    /// Remembers what the group saw; on the first sight of a sold-out batch (or of
    /// a day whose cap is reached), reads who holds the limit (final from then on, or
    /// for the rest of that day).
    fn learn(&self, conn: &mut DbConnection, batch_id: i64, seen: Seen, read_at: Instant) {
        let sold_out = seen.remaining <= 0;
        let full_on = seen.today.and_then(|(day, left)| (left <= 0).then_some(day));
        let before = self.memory.get(batch_id);
        // The holdings read before stay right while the batch is frozen the same way.
        let same_freeze = before
            .as_ref()
            .is_some_and(|k| (k.sold_out && sold_out) || (!sold_out && k.full_on.is_some() && k.full_on == full_on));
        let mut at_limit = before.and_then(|k| k.at_limit.clone()).filter(|_| same_freeze);
        if (sold_out || full_on.is_some()) && at_limit.is_none() {
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
                full_on,
                at_limit,
                read_at,
            },
        );
    }
}

/// The 503 `overloaded` answer of a claim or entry, with its `Retry-After`.
pub fn overloaded(error: AppError, retry_after_seconds: u64) -> actix_web::HttpResponse {
    use actix_web::http::header::{HeaderValue, RETRY_AFTER};
    use actix_web::ResponseError;
    let mut response = error.error_response();
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(retry_after_seconds));
    response
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
    key: LaneKey,
    lane: &'a Arc<Lane>,
}

impl Drop for CloseOnExit<'_> {
    fn drop(&mut self) {
        let mut lanes = self.desk.lanes.lock().unwrap_or_else(|e| e.into_inner());
        let mut queue = self.lane.lock();
        queue.closed = true;
        queue.waiting.clear();
        if lanes.get(&self.key).is_some_and(|l| Arc::ptr_eq(l, self.lane)) {
            lanes.remove(&self.key);
        }
    }
}
