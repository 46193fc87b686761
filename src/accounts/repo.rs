//! Accounts in the database: users, real-name binding, refresh-token families.
//!
//! Refresh tokens are random 256-bit strings stored as their SHA-256 (a slow hash is
//! not needed for random secrets). Each login starts a family; a refresh spends the
//! presented token and issues the next one of the family. Presenting a spent token
//! again means it leaked, so the whole family is revoked.

use chrono::Duration;
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::models::{NewRefreshToken, NewUser, RefreshTokenRow, UserRow};
use crate::db::schema::{merchant_members, refresh_tokens, users};
use crate::db::{is_unique_violation, write_tx, DbConnection};
use crate::domain::Role;
use crate::error::{AppError, Code};
use crate::time::now;

/// Inserts a user; 409 `phone_taken` when the phone is registered (the unique index
/// decides, so two racing registrations cannot both win).
pub fn create_user(
    conn: &mut DbConnection,
    phone: &str,
    password_hash: &str,
    display_name: &str,
    role: Role,
) -> Result<UserRow, AppError> {
    let new = NewUser {
        phone,
        password_hash,
        display_name,
        role: role.as_str(),
        created_at: now(),
    };
    diesel::insert_into(users::table)
        .values(new)
        .returning(users::all_columns)
        .get_result(conn)
        .map_err(|e| {
            if is_unique_violation(&e) {
                AppError::new(Code::PhoneTaken, "this phone number is already registered")
            } else {
                e.into()
            }
        })
}

pub fn find_by_phone(conn: &mut DbConnection, phone: &str) -> QueryResult<Option<UserRow>> {
    users::table.filter(users::phone.eq(phone)).first(conn).optional()
}

pub fn find_by_id(conn: &mut DbConnection, id: i64) -> QueryResult<UserRow> {
    users::table.find(id).first(conn)
}

/// The merchants the user owns or staffs, oldest membership first.
pub fn merchant_ids_of(conn: &mut DbConnection, user_id: i64) -> QueryResult<Vec<i64>> {
    merchant_members::table
        .filter(merchant_members::user_id.eq(user_id))
        .order(merchant_members::merchant_id.asc())
        .select(merchant_members::merchant_id)
        .load(conn)
}

/// Binds a verified identity (its keyed hash) to the user. The same identity again
/// is a no-op; another identity on a verified account is 409 `invalid_state`; an
/// identity bound to another account is 409 `identity_taken`.
pub fn bind_identity(
    conn: &mut DbConnection,
    user_id: i64,
    real_name: &str,
    identity_hash: &str,
    last4: &str,
) -> Result<UserRow, AppError> {
    write_tx(conn, |conn| {
        let user = find_by_id(conn, user_id)?;
        if let Some(existing) = &user.identity_hash {
            return if existing == identity_hash {
                Ok(user)
            } else {
                Err(AppError::invalid_state(
                    "this account is already verified with another identity",
                ))
            };
        }
        diesel::update(users::table.find(user_id).filter(users::identity_hash.is_null()))
            .set((
                users::real_name.eq(real_name),
                users::identity_hash.eq(identity_hash),
                users::identity_last4.eq(last4),
                users::real_name_verified_at.eq(now()),
            ))
            .returning(users::all_columns)
            .get_result(conn)
            .map_err(|e| {
                if is_unique_violation(&e) {
                    AppError::new(Code::IdentityTaken, "this identity is bound to another account")
                } else {
                    e.into()
                }
            })
    })
}

fn hash_token(raw: &str) -> String {
    hex::encode(Sha256::digest(raw.as_bytes()))
}

fn random_token() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Issues a refresh token in `family` (a new family when `None`); returns it raw.
pub fn issue_refresh_token(
    conn: &mut DbConnection,
    user_id: i64,
    family: Option<&str>,
    ttl_days: i64,
) -> QueryResult<String> {
    let raw = random_token();
    let new_family;
    let family = match family {
        Some(f) => f,
        None => {
            new_family = random_token();
            &new_family
        }
    };
    let created_at = now();
    diesel::insert_into(refresh_tokens::table)
        .values(&NewRefreshToken {
            user_id,
            family,
            token_hash: &hash_token(&raw),
            expires_at: created_at + Duration::days(ttl_days),
            created_at,
        })
        .execute(conn)?;
    Ok(raw)
}

pub enum Rotation {
    /// The token was good: here is its successor.
    Rotated { user: Box<UserRow>, refresh_token: String },
    /// Unknown, expired, revoked, or spent (then the family is now revoked).
    Refused,
}

/// Spends a refresh token and issues its successor, in one transaction. A spent
/// token presented again revokes its family; that revocation is committed even
/// though the caller is refused.
pub fn rotate_refresh_token(conn: &mut DbConnection, raw: &str, ttl_days: i64) -> Result<Rotation, AppError> {
    let hash = hash_token(raw);
    write_tx(conn, |conn| {
        let Some(token) = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(&hash))
            .first::<RefreshTokenRow>(conn)
            .optional()?
        else {
            return Ok(Rotation::Refused);
        };
        let at = now();
        if token.revoked_at.is_some() || token.expires_at <= at {
            return Ok(Rotation::Refused);
        }
        // Spend it only if nobody else has: the affected-row count decides a race.
        let spent = diesel::update(
            refresh_tokens::table
                .find(token.id)
                .filter(refresh_tokens::spent_at.is_null()),
        )
        .set(refresh_tokens::spent_at.eq(at))
        .execute(conn)?;
        if spent == 0 {
            revoke_family(conn, &token.family)?;
            tracing::warn!(user_id = token.user_id, "refresh token reused; family revoked");
            return Ok(Rotation::Refused);
        }
        let user = find_by_id(conn, token.user_id)?;
        let refresh_token = issue_refresh_token(conn, token.user_id, Some(&token.family), ttl_days)?;
        Ok(Rotation::Rotated {
            user: Box::new(user),
            refresh_token,
        })
    })
}

fn revoke_family(conn: &mut DbConnection, family: &str) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family.eq(family))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now()))
    .execute(conn)
}

/// Logs out the session the token belongs to (its whole family), if it is the
/// caller's; someone else's token is left alone.
pub fn logout(conn: &mut DbConnection, user_id: i64, raw: &str) -> Result<(), AppError> {
    let hash = hash_token(raw);
    write_tx(conn, |conn| {
        let family: Option<String> = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(&hash))
            .filter(refresh_tokens::user_id.eq(user_id))
            .select(refresh_tokens::family)
            .first(conn)
            .optional()?;
        if let Some(family) = family {
            revoke_family(conn, &family)?;
        }
        Ok(())
    })
}
