//! Offers: what a merchant sells, and the public catalog.
//!
//! Invariants: only the owner of an approved merchant creates and changes offers;
//! the catalog (`GET /offers`, `GET /offers/{id}`) shows only active offers of
//! approved merchants to the public (members and admins see all of their own);
//! `search_text` always equals `search::offer_text(title, description)`, rewritten
//! in the same statement as any change of either; catalog pages are keyed by id
//! (newest first), so offers added while a client pages through never shift or
//! repeat what it has not seen yet.

pub mod dto;
pub mod handlers;
pub mod models;
pub mod repo;
