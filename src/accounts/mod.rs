//! Residents' and administrators' accounts: registration, login with rotating
//! refresh tokens, `GET /me`, and real-name verification.
//!
//! Invariants: a phone belongs to one account; an identity number binds to one
//! account and is stored only as a keyed hash plus its last four characters; a
//! refresh token works once, and a second use revokes its whole family.

pub mod dto;
pub mod handlers;
pub mod models;
pub mod repo;
