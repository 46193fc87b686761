//! Money to merchants: daily statements, their lifecycle, and reversals with
//! clawbacks (API.md, "Money to merchants: statements, holds, clawbacks").
//!
//! Invariants, each kept by one transaction and conditional writes:
//! - A statement is what the platform owes one merchant for one platform-local day:
//!   the subsidy of its voucher orders redeemed that day (subsidy lines) minus the
//!   clawbacks: reversed orders that already stood on a closed statement (clawback
//!   lines), and the debt carried in from the merchant's previous statement.
//!   `net_fen = subsidy_fen − clawback_fen`, `payout_fen = max(0, net_fen)` is what
//!   is transferred.
//! - A negative net carries forward as a clawback (API.md): the merchant's next
//!   statement takes `carried_in_fen` = the previous `net_fen` (≤ 0, signed like a
//!   clawback line) into its `clawback_fen`. It is a figure, not a line (it has no
//!   order), so a statement's lines sum to `net_fen − carried_in_fen`, and the money
//!   reconciles as Σ (net_fen − carried_in_fen) = Σ subsidy of the redeemed orders of closed days
//!   − Σ clawed back, while Σ payout_fen is that plus what a merchant still owes
//!   back (minus its latest net_fen when negative). A carried debt is counted once
//!   as money: on the statement that made it, never again on the one that takes it.
//! - A day closes exactly once, with all its statements and lines in one
//!   transaction ([`repo::closing`]): the `statement_days` row is the claim, the
//!   unique (merchant_id, day) and (order_id, kind) are the last guards. A closed
//!   statement's figures, lines, CSV and `digest` never change; only its status moves
//!   (`closed|held → held`, `held → closed`, `closed → approved`, `approved → paid`).
//! - Reversal ([`reversal`]) is one transaction: `redeemed → reversed`, out of the
//!   report rollup, audit-logged, and a pending clawback line when the order is on a
//!   closed statement; the merchant's next statement takes it.
//! - Each closed statement of a merchant with a webhook endpoint writes its
//!   `statement.closed` event ([`events`]) in the day's transaction.

pub mod closer;
pub mod csv;
pub mod dto;
pub mod events;
pub mod handlers;
pub mod models;
pub mod repo;
pub mod reversal;
