//! Money to merchants: daily statements, their lifecycle, and reversals with
//! clawbacks (API.md, "Money to merchants: statements, holds, clawbacks").
//!
//! Invariants, each kept by one transaction and conditional writes:
//! - A statement is what the platform owes one merchant for one platform-local day:
//!   the subsidy of its voucher orders redeemed that day (subsidy lines) minus the
//!   clawbacks of reversed orders that already stood on a closed statement.
//!   `net_fen = subsidy_fen − clawback_fen`; so Σ net_fen over all statements is
//!   exactly Σ subsidy of the redeemed orders of closed days − Σ clawed back.
//! - A negative balance carries forward: `carried_in_fen` is the previous
//!   statement's negative `net_fen + carried_in_fen`, and `payout_fen =
//!   max(0, net_fen + carried_in_fen)` is what is transferred. Carries are kept out
//!   of `net_fen` so no fen is counted twice.
//! - A day closes exactly once, with all its statements and lines in one
//!   transaction ([`repo::closing`]): the `statement_days` row is the claim, the
//!   unique (merchant_id, day) and (order_id, kind) are the last guards. A closed
//!   statement's figures, lines, CSV and `digest` never change; only its status moves
//!   (`closed|held → held`, `held → closed`, `closed → approved`, `approved → paid`).
//! - Reversal ([`reversal`]) is one transaction: `redeemed → reversed`, out of the
//!   report rollup, audit-logged, and a pending clawback line when the order is on a
//!   closed statement; the merchant's next statement takes it.

pub mod closer;
pub mod csv;
pub mod dto;
pub mod handlers;
pub mod models;
pub mod repo;
pub mod reversal;
