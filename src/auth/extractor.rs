//! Who is calling: extractors that turn a bearer token into a user, or refuse.
//!
//! - [`AuthUser`]: any signed-in user (401 `unauthorized` without a valid token);
//! - [`AdminUser`]: an administrator (403 `forbidden` for others);
//! - [`Resident`]: a non-administrator (403 for admins: they run campaigns and take
//!   no subsidy);
//! - [`MaybeUser`]: public endpoints that show members and admins more.
//!
//! The role travels in the token: it never changes after an account is made.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};

use crate::domain::{Caller, Role};
use crate::error::AppError;
use crate::state::AppState;

/// Any signed-in user: the extractor behind every authenticated call. It derefs to
/// the plain [`Caller`] value that repos and rules take (`user.caller()`).
#[derive(Debug, Clone, Copy)]
pub struct AuthUser(Caller);

impl AuthUser {
    /// The plain caller value, for the layers below the handlers.
    pub fn caller(&self) -> Caller {
        self.0
    }
}

impl From<AuthUser> for Caller {
    fn from(user: AuthUser) -> Caller {
        user.0
    }
}

impl std::ops::Deref for AuthUser {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.0
    }
}

/// `Ok(None)` when no Authorization header is present; an error for a bad one.
fn authenticate(req: &HttpRequest) -> Result<Option<AuthUser>, AppError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .ok_or_else(|| AppError::unauthorized("expected 'Authorization: Bearer <token>'"))?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("AppState missing")))?;
    let claims = state
        .tokens
        .verify(token)
        .ok_or_else(|| AppError::unauthorized("the access token is invalid or expired"))?;
    let id = claims
        .sub
        .parse()
        .map_err(|_| AppError::unauthorized("the access token is invalid"))?;
    let role = Role::parse(&claims.role).ok_or_else(|| AppError::unauthorized("the access token is invalid"))?;
    Ok(Some(AuthUser(Caller { id, role })))
}

fn required(req: &HttpRequest) -> Result<AuthUser, AppError> {
    authenticate(req)?.ok_or_else(|| AppError::unauthorized("sign in first"))
}

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(required(req))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct AdminUser(pub AuthUser);

impl FromRequest for AdminUser {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(required(req).and_then(|user| {
            if user.is_admin() {
                Ok(AdminUser(user))
            } else {
                Err(AppError::forbidden("administrators only"))
            }
        }))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Resident(pub AuthUser);

impl FromRequest for Resident {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(required(req).and_then(|user| {
            if user.is_admin() {
                Err(AppError::forbidden("administrators run campaigns and take no subsidy"))
            } else {
                Ok(Resident(user))
            }
        }))
    }
}

/// The caller if a valid token was sent; a present but invalid token is still 401.
#[derive(Debug, Clone, Copy)]
pub struct MaybeUser(pub Option<AuthUser>);

impl FromRequest for MaybeUser {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).map(MaybeUser))
    }
}
