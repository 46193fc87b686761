//! Vouchers: residents claim them from batches (`POST /batches/{id}/claim`) and
//! keep them in a wallet (`GET /me/vouchers`). The orders feature locks, uses and
//! voids them.
//!
//! Claims go through the [`desk::ClaimDesk`]: answers that can no longer change come
//! from memory, the rest are committed in groups, one transaction per group
//! ([`repo::group`]), each answered as the one-at-a-time rules ([`rules`]) say.
//!
//! Invariants:
//! - a batch never issues more than its `quantity`: a claim (or a group of k)
//!   decrements its stock with one conditional UPDATE (`remaining >= k`, on the
//!   batch row or on one of its stock shards, [`stock`]) in the transaction that
//!   inserts the vouchers, and rolls back when no row changed; a batch's stock is
//!   `voucher_batches.remaining` plus its shards;
//! - a resident never holds more than `per_user_limit` of a batch: each voucher takes
//!   `slot = count + 1` under UNIQUE(batch_id, user_id, slot), so parallel claims of
//!   one resident cannot both take the same slot (on SQLite `BEGIN IMMEDIATE`
//!   already serialises them);
//! - a batch with a `daily_quantity` never issues more than that on one
//!   platform-local day: the day's row in `batch_day_claims` takes the claim (or the
//!   group) with one guarded upsert in the same transaction ([`daily`]);
//! - `expired` is never stored: [`status::effective_status`] and
//!   [`status::filter_by_status`] derive it from `expires_at` at read time, the one
//!   place that rule lives.

pub mod daily;
pub mod desk;
pub mod dto;
pub mod handlers;
pub mod memory;
pub mod models;
pub mod repo;
pub mod rules;
pub mod status;
pub mod stock;
pub mod usable;
