//! Merchants' webhooks: signed POSTs telling a merchant's own systems that an
//! order was paid, redeemed, refunded or cancelled (API.md, "Webhooks for
//! merchants").
//!
//! Invariants:
//! - an event is written to the outbox by [`outbox::enqueue`] inside the
//!   transaction of the change it reports, so a change that rolls back sends
//!   nothing and one that commits is sent even if the instance dies right after
//!   (on SQLite its deliveries are written later by the sender, [`fanout`]);
//! - each delivery is sent by one instance at a time: [`lease::claim`] leases its
//!   endpoint with a conditional UPDATE (`webhooks.leased_until`); a sender that
//!   dies mid-send loses the lease and another instance retries (at least once);
//! - the signing secret is shown once, at registration, and never listed.

pub mod attempts;
pub mod dto;
pub mod fanout;
pub mod handlers;
pub mod lease;
pub mod models;
pub mod outbox;
pub mod repo;
pub mod sender;
pub mod signature;
pub mod target;
