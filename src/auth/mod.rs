//! Authentication: argon2id password hashing, JWT access tokens, the extractors
//! that say who is calling, and the login/register rate limiter. Refresh tokens
//! belong to `accounts` (they are rows in its tables).

pub mod client_ip;
pub mod extractor;
pub mod jwt;
pub mod password;
pub mod rate_limit;

pub use crate::domain::Role;
pub use extractor::{AdminUser, AuthUser, MaybeUser, Resident};
