//! Vouchers: residents claim them from batches (`POST /batches/{id}/claim`) and
//! keep them in a wallet (`GET /me/vouchers`). The orders feature locks, uses and
//! voids them.
//!
//! Invariants:
//! - a batch never issues more than its `quantity`: a claim decrements `remaining`
//!   with one conditional UPDATE (`remaining > 0`) in the transaction that inserts
//!   the voucher, and rolls back when no row changed;
//! - a resident never holds more than `per_user_limit` of a batch: each voucher takes
//!   `slot = count + 1` under UNIQUE(batch_id, user_id, slot), so parallel claims of
//!   one resident cannot both take the same slot (on SQLite `BEGIN IMMEDIATE`
//!   already serialises them);
//! - `expired` is never stored: [`status::effective_status`] and
//!   [`status::filter_by_status`] derive it from `expires_at` at read time, the one
//!   place that rule lives.

pub mod dto;
pub mod handlers;
pub mod models;
pub mod repo;
pub mod status;
