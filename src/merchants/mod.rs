//! Merchants: applications, the admin review (approve, reject, suspend, reinstate),
//! visibility, and staff.
//!
//! Invariants:
//! - one live merchant per unified social credit code (the partial unique index
//!   `merchants_license_live` is the last guard; a rejected merchant frees its code);
//! - the applicant is the owner: the merchant row and its owner membership are
//!   written in one transaction;
//! - a status move is one conditional `UPDATE … WHERE status = <from>` plus its
//!   audit row in the same transaction: a move that does not happen leaves no audit
//!   row, a move that happens always has one;
//! - nobody becomes staff without consent: the owner invites a phone (the same
//!   answer whether or not it has an account), its user accepts ([`invitations`]);
//! - a merchant that is not approved is invisible (404) to everyone but its members
//!   and admins ([`access::Relation`]).

pub mod access;
pub mod dto;
pub mod handlers;
pub mod invitations;
pub mod members;
pub mod models;
pub mod repo;
