//! Subsidy campaigns and their voucher batches: creation, the lifecycle
//! (draft → active ⇄ paused → ended), and the public and admin listings.
//!
//! Invariants:
//! - a campaign's `reserved_fen` (the face value of every batch made) never exceeds
//!   its `budget_fen`: a batch reserves its face value with ONE conditional UPDATE
//!   (`reserved_fen + face <= budget_fen`) in the transaction that inserts it, so two
//!   admins racing cannot both spend the last of the budget;
//! - every status move is one conditional UPDATE on the allowed source statuses, so
//!   an illegal or lost race is 409 `invalid_state`, never a silent overwrite;
//! - every change writes its audit row in the same transaction;
//! - a batch never changes once made (only its `remaining`, which claims lower; see
//!   `crate::vouchers`).

pub mod dto;
pub mod handlers;
pub mod models;
pub mod repo;
