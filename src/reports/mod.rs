//! Subsidy reports: per campaign, how much consumption each yuan of subsidy drove
//! (three named leverage ratios), settlements owed to merchants, platform totals.
//!
//! Invariant: every figure equals the sum over the counted orders (paid or
//! redeemed) it covers, whatever order events came in. The rollup in [`rollup`]
//! is maintained inside the order transactions that change what is counted.

pub mod causal;
pub mod csv;
pub mod dto;
pub mod figures;
pub mod handlers;
pub mod repo;
pub mod rollup;
pub mod welch;
