//! Orders: a resident buys an offer, optionally with one of their vouchers, pays,
//! and shows a redemption code at the venue; the resident may cancel an unpaid
//! order or refund a paid one, and the sweeper cancels orders left unpaid.
//!
//! Owns `orders` and `payments`, and the order-driven moves of offer stock
//! (`offers.stock`), of vouchers (`available → locked → used`, back, or `void`) and
//! of a campaign's `reserved_fen` when a refund voids a voucher.
//!
//! Invariants (DESIGN.md 3–7), each kept by one write transaction per move whose
//! deciding statement is a conditional UPDATE on the row's current state:
//! - stock never goes below zero; cancel, timeout and refund give back exactly the
//!   order's quantity (`UPDATE offers … WHERE stock IS NULL OR stock >= q`);
//! - a voucher is locked by at most one live order (`UPDATE vouchers … WHERE
//!   status = 'available'`, and the partial unique index `orders_voucher_live`), and
//!   becomes `used` only when its order is paid;
//! - `payable_fen = gross_fen − subsidy_fen ≥ 0`, computed with checked i64;
//! - of racing pay, cancel, refund, redemption and the sweeper on one order exactly
//!   one wins (`UPDATE orders … WHERE id = ? AND status = '<from>'`); the losers roll
//!   back whatever they did before finding out.

pub mod dto;
pub mod events;
pub mod handlers;
pub mod models;
pub mod repo;
pub mod sweeper;
