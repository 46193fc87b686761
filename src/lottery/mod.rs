//! Lottery batches (摇号, API.md "Fair release"): instead of a stampede, residents
//! enter during the batch's entry window (`POST /batches/{id}/entries`), and after
//! it closes the winners are drawn by a rule anyone can recompute from published
//! data (the seed, committed to at batch creation, and the entry numbers).
//!
//! Invariants:
//! - one entry per resident per batch (UNIQUE(batch_id, user_id));
//! - `entry_no` counts 1, 2, 3 … per batch with no gaps: each entry takes
//!   `voucher_batches.entries + 1` with a conditional UPDATE in the transaction that
//!   inserts it, so a refused or rolled-back entry leaves no hole;
//! - the seed is secret until the draw; its SHA-256 (`commitment`) is public from
//!   the batch's creation ([`seed`]).

pub mod draw;
pub mod dto;
pub mod handlers;
pub mod models;
pub mod rank;
pub mod repo;
pub mod seed;
