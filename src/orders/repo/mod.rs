//! Orders in the database, split by job. Every function that moves money, stock or
//! a voucher is one write transaction whose deciding statement is a conditional
//! UPDATE; reads made before it only choose which error a refusal gets.
//!
//! - [`pricing`]: the pure rules (voucher eligibility, min spend, amounts), no database;
//! - [`checkout`]: `POST /orders`;
//! - [`payment`]: paying, a provider's later settlement, the `payments` rows, and
//!   [`MoneyStep`] (what differs between paying and refunding);
//! - [`lifecycle`]: cancel, refund, redeem, and the sweeper's overdue cancellation;
//! - [`queries`]: reading orders as the caller may see them, and why a move refused.
//!
//! Repos take plain values (`domain::Caller`, ids) and know nothing of HTTP: the
//! handler builds the idempotent answer (`idempotency::Completion`) and the repo's
//! transaction stores it with the change. Membership is `merchants::access`'s rule,
//! spendability `vouchers::status::is_spendable`.

pub mod checkout;
pub mod lifecycle;
pub mod payment;
pub mod pricing;
pub mod queries;

pub use checkout::{create, OrderRequest};
pub use lifecycle::{cancel, cancel_overdue, redeem, refund};
pub use payment::{pay, settle_payment, MoneyStep, RecordMovement, PAY, REFUND};
pub use queries::{list, own_order, require_member, visible_order, OrderOwner};
