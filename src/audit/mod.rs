//! The audit log: every admin action and every merchant status change.
//!
//! A feature that changes something worth auditing calls [`record`] inside the
//! transaction that makes the change, so a change that rolls back leaves no audit
//! row and a committed change always has one. Admins read the log with
//! `GET /admin/audit-log` ([`handlers::list`]), newest first.
//!
//! - [`models`]: what a row is about ([`AuditTarget`]) and the row as read;
//! - [`repo`]: writing a row and the list query;
//! - [`dto`]: the row as the API shows it;
//! - [`handlers`]: the admin's list endpoint.

pub mod dto;
pub mod handlers;
pub mod models;
pub mod repo;

pub use models::AuditTarget;
pub use repo::record;
