//! Accounts in the database: users, real-name binding, refresh-token families.
//!
//! Refresh tokens are random 256-bit strings stored as their SHA-256 (a slow hash is
//! not needed for random secrets). Each login starts a family; a refresh spends the
//! presented token and issues the next one of the family. Presenting a spent token
//! again means it leaked, so the whole family is revoked. A family ends
//! `auth.session_max_days` after its login however often it is refreshed.
//!
//! Revocation races rotation on PostgreSQL: the spending UPDATE checks `revoked_at`
//! itself, and a revoking UPDATE is repeated until it finds nothing, because a
//! rotation that held a row lock it waited for has inserted a successor its first
//! statement could not see (READ COMMITTED: the next statement does).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::models::{NewRefreshToken, NewUser, RefreshTokenRow, UserRow};
use crate::audit;
use crate::db::schema::{merchant_members, refresh_tokens, users};
use crate::db::{is_unique_violation, write_tx, DbConnection};
use crate::domain::{Caller, Role};
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
    issue_refresh_token_until(conn, user_id, family, now() + Duration::days(ttl_days))
}

fn issue_refresh_token_until(
    conn: &mut DbConnection,
    user_id: i64,
    family: Option<&str>,
    expires_at: NaiveDateTime,
) -> QueryResult<String> {
    let raw = random_token();
    let family = family.map(str::to_owned).unwrap_or_else(random_token);
    diesel::insert_into(refresh_tokens::table)
        .values(NewRefreshToken {
            user_id,
            family: &family,
            token_hash: &hash_token(&raw),
            expires_at,
            created_at: now(),
        })
        .execute(conn)?;
    Ok(raw)
}

pub enum Rotation {
    Rotated { user: Box<UserRow>, refresh_token: String },
    Refused,
}

/// How long refresh tokens and their sessions live.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    pub ttl_days: i64,
    pub max_days: i64,
}

/// Spends a refresh token and issues its successor, in one transaction. A spent
/// token presented again revokes its family. A token of a family older than
/// `max_days`, or of a disabled user, is refused; the successor never outlives
/// its family.
pub fn rotate_refresh_token(conn: &mut DbConnection, raw: &str, limits: SessionLimits) -> Result<Rotation, AppError> {
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
        let family_started: Option<NaiveDateTime> = refresh_tokens::table
            .filter(refresh_tokens::family.eq(&token.family))
            .select(diesel::dsl::min(refresh_tokens::created_at))
            .first(conn)?;
        let family_ends = family_started.unwrap_or(token.created_at) + Duration::days(limits.max_days);
        if family_ends <= at {
            revoke_family(conn, &token.family)?;
            return Ok(Rotation::Refused);
        }
        // Spend it only if nobody else has and nobody revoked it meanwhile: the
        // affected-row count decides a race, with `revoked_at` checked in the same
        // statement so a logout committed first always wins.
        let spent = diesel::update(
            refresh_tokens::table
                .find(token.id)
                .filter(refresh_tokens::spent_at.is_null())
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set(refresh_tokens::spent_at.eq(at))
        .execute(conn)?;
        if spent == 0 {
            revoke_family(conn, &token.family)?;
            tracing::warn!(
                user_id = token.user_id,
                "refresh token reused or revoked; family revoked"
            );
            return Ok(Rotation::Refused);
        }
        let user = find_by_id(conn, token.user_id)?;
        if user.disabled_at.is_some() {
            revoke_family(conn, &token.family)?;
            return Ok(Rotation::Refused);
        }
        let expires_at = (at + Duration::days(limits.ttl_days)).min(family_ends);
        let refresh_token = issue_refresh_token_until(conn, token.user_id, Some(&token.family), expires_at)?;
        Ok(Rotation::Rotated {
            user: Box::new(user),
            refresh_token,
        })
    })
}

/// Repeats a revoking UPDATE until it revokes nothing (at most a few rounds): see
/// the module doc for the rotation it catches.
fn revoke_until_quiet(
    conn: &mut DbConnection,
    mut revoke: impl FnMut(&mut DbConnection) -> QueryResult<usize>,
) -> QueryResult<usize> {
    let mut total = 0;
    for _ in 0..4 {
        let revoked = revoke(conn)?;
        total += revoked;
        if revoked == 0 {
            break;
        }
    }
    Ok(total)
}

fn revoke_family(conn: &mut DbConnection, family: &str) -> QueryResult<usize> {
    revoke_until_quiet(conn, |conn| {
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::family.eq(family))
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set(refresh_tokens::revoked_at.eq(now()))
        .execute(conn)
    })
}

/// Revokes every refresh token of the user: every session ends at its next refresh.
fn revoke_all_of(conn: &mut DbConnection, user_id: i64) -> QueryResult<usize> {
    revoke_until_quiet(conn, |conn| {
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::user_id.eq(user_id))
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set(refresh_tokens::revoked_at.eq(now()))
        .execute(conn)
    })
}

/// `POST /auth/logout-all`: every session of the user.
pub fn logout_all(conn: &mut DbConnection, user_id: i64) -> Result<(), AppError> {
    write_tx(conn, |conn| revoke_all_of(conn, user_id).map(|_| ()))?;
    Ok(())
}

/// Stores a new password hash and ends every session, in one transaction.
pub fn change_password(conn: &mut DbConnection, user_id: i64, password_hash: &str) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        diesel::update(users::table.find(user_id))
            .set(users::password_hash.eq(password_hash))
            .execute(conn)?;
        revoke_all_of(conn, user_id).map(|_| ())
    })?;
    Ok(())
}

/// `disable` or `enable` an account, by an administrator, audit-logged. Disabling
/// ends every session; an administrator cannot disable themself. A move to the
/// state the account is already in is 409 `invalid_state`.
pub fn set_disabled(
    conn: &mut DbConnection,
    admin: Caller,
    user_id: i64,
    disable: bool,
    reason: Option<&str>,
) -> Result<UserRow, AppError> {
    if disable && admin.id == user_id {
        return Err(AppError::invalid_state(
            "an administrator cannot disable their own account",
        ));
    }
    write_tx(conn, |conn| {
        let Some(_) = users::table
            .find(user_id)
            .select(users::id)
            .first::<i64>(conn)
            .optional()?
        else {
            return Err(AppError::not_found());
        };
        let changed = if disable {
            diesel::update(users::table.find(user_id).filter(users::disabled_at.is_null()))
                .set(users::disabled_at.eq(Some(now())))
                .execute(conn)?
        } else {
            diesel::update(users::table.find(user_id).filter(users::disabled_at.is_not_null()))
                .set(users::disabled_at.eq(None::<NaiveDateTime>))
                .execute(conn)?
        };
        if changed == 0 {
            return Err(AppError::invalid_state(if disable {
                "the account is already disabled"
            } else {
                "the account is not disabled"
            }));
        }
        let verb = if disable { "disable" } else { "enable" };
        if disable {
            revoke_all_of(conn, user_id)?;
        }
        audit::record(conn, admin.id, audit::AuditTarget::User, verb, user_id, reason)?;
        Ok(find_by_id(conn, user_id)?)
    })
}

/// An administrator releases `user_id`'s identity binding (an `identity_taken`
/// dispute: the number was squatted), audit-logged with the reason. 409
/// `invalid_state` when no identity is bound.
pub fn release_identity(
    conn: &mut DbConnection,
    admin: Caller,
    user_id: i64,
    reason: &str,
) -> Result<UserRow, AppError> {
    write_tx(conn, |conn| {
        let Some(_) = users::table
            .find(user_id)
            .select(users::id)
            .first::<i64>(conn)
            .optional()?
        else {
            return Err(AppError::not_found());
        };
        let released = diesel::update(users::table.find(user_id).filter(users::identity_hash.is_not_null()))
            .set((
                users::real_name.eq(None::<String>),
                users::identity_hash.eq(None::<String>),
                users::identity_last4.eq(None::<String>),
                users::real_name_verified_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        if released == 0 {
            return Err(AppError::invalid_state("this account has no identity bound"));
        }
        audit::record(
            conn,
            admin.id,
            audit::AuditTarget::User,
            "identity_release",
            user_id,
            Some(reason),
        )?;
        Ok(find_by_id(conn, user_id)?)
    })
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
