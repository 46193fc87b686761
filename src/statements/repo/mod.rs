//! The statements' queries, split by job: [`closing`] writes a day's statements,
//! [`lifecycle`] moves a statement's status, [`queries`] reads them. Repos take the
//! plain [`crate::domain::Caller`], never a request type.

pub mod closing;
pub mod lifecycle;
pub mod queries;
