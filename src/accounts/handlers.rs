//! HTTP handlers of `/auth/*` and `/me`: parse, call the repo, answer.

use actix_web::{web, HttpRequest, HttpResponse};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;

use super::dto::{TokenPair, UserDto};
use super::models::UserRow;
use super::repo::{self, Rotation, SessionLimits};
use crate::auth::{AdminUser, AuthUser};
use crate::db;
use crate::domain::{IdNumber, Password, Phone, Role};
use crate::error::{AppError, AppResult, Code};
use crate::http::form::{present, string, text, Form, JsonBody};
use crate::identity::Verdict;
use crate::state::AppState;

/// The client's address as a rate-limit key (see `auth::client_ip`).
fn client_ip(state: &AppState, req: &HttpRequest) -> String {
    state
        .trusted_proxies
        .client_ip(req.peer_addr().map(|a| a.ip()), req.headers())
        .map(crate::auth::client_ip::key_of)
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Counts one attempt against `limit`; 429 with `Retry-After` past it. On
/// PostgreSQL the count is shared by every instance (`auth::rate_limit`).
async fn limit(state: &AppState, endpoint: &'static str, key: String, limit: u32) -> AppResult<()> {
    if !state.settings.rate_limit.enabled {
        return Ok(());
    }
    let counted = if state.settings.database.engine() == db::Engine::Postgres {
        db::run(&state.pool, move |c| match c {
            db::DbConnection::Postgresql(pg) => Ok(crate::auth::rate_limit::hit_shared(pg, &key, limit)?),
            db::DbConnection::Sqlite(_) => Ok(Ok(())),
        })
        .await?
    } else {
        state.limiter.hit(&key, limit)
    };
    counted.map_err(|retry_after| {
        crate::metrics::rate_limited(endpoint);
        AppError::RateLimited(retry_after)
    })
}

async fn user_dto(state: &AppState, user: UserRow) -> AppResult<UserDto> {
    let user_id = user.id;
    let merchant_ids = db::run(&state.pool, move |c| Ok(repo::merchant_ids_of(c, user_id)?)).await?;
    Ok(UserDto::new(user, merchant_ids))
}

async fn token_pair(state: &AppState, user: &UserRow, refresh_token: String) -> AppResult<TokenPair> {
    let access_token = state.tokens.issue(user.id, user.role)?;
    Ok(TokenPair {
        access_token,
        token_type: "Bearer",
        expires_in: state.tokens.ttl_seconds(),
        refresh_token,
    })
}

/// `POST /auth/register`
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "accounts", request_body = super::dto::RegisterRequest,
    responses((status = 201, description = "The new resident", body = UserDto),
              (status = 409, description = "phone_taken"),
              (status = 429, description = "rate_limited (see Retry-After)")))]
pub async fn register(state: web::Data<AppState>, req: HttpRequest, body: JsonBody) -> AppResult<HttpResponse> {
    limit(
        &state,
        "register",
        format!("register:ip:{}", client_ip(&state, &req)),
        state.settings.rate_limit.register_per_minute_per_ip,
    )
    .await?;
    let mut form = Form::new(body)?;
    let phone = form.required("phone", |v| Phone::parse(string(v)?));
    let password = form.required("password", |v| Password::parse(string(v)?));
    let display_name = form.required("display_name", |v| text(v, 1, 64));
    form.finish()?;
    let (phone, password, display_name) = (present(phone)?, present(password)?, present(display_name)?);
    // Keyed only by a validated phone: a key is at most 11 digits, never raw input.
    limit(
        &state,
        "register",
        format!("register:phone:{}", phone.as_str()),
        state.settings.rate_limit.register_per_minute_per_phone,
    )
    .await?;

    let password_hash = state.passwords.hash(password.expose().to_owned()).await?;
    let user = db::run(&state.pool, move |c| {
        repo::create_user(c, phone.as_str(), &password_hash, &display_name, Role::Resident)
    })
    .await?;
    Ok(HttpResponse::Created().json(UserDto::new(user, Vec::new())))
}

/// `POST /auth/login`: rate limits first, then one argon2 verification whether or
/// not the phone exists.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "accounts", request_body = super::dto::LoginRequest,
    responses((status = 200, description = "Tokens", body = TokenPair),
              (status = 401, description = "invalid_credentials: the same answer for an unknown phone and a wrong password"),
              (status = 429, description = "rate_limited (see Retry-After)")))]
pub async fn login(state: web::Data<AppState>, req: HttpRequest, body: JsonBody) -> AppResult<HttpResponse> {
    let limits = &state.settings.rate_limit;
    limit(
        &state,
        "login",
        format!("login:ip:{}", client_ip(&state, &req)),
        limits.login_per_minute_per_ip,
    )
    .await?;
    let mut form = Form::new(body)?;
    let phone = form.required("phone", |v| string(v).map(str::to_owned));
    let password = form.required("password", |v| string(v).map(str::to_owned));
    form.finish()?;
    let (phone, password) = (present(phone)?, present(password)?);
    // Only a valid phone is a key (bounded memory); an invalid one matches no
    // account and is still limited per address.
    if let Ok(valid) = Phone::parse(&phone) {
        limit(
            &state,
            "login",
            format!("login:phone:{}", valid.as_str()),
            limits.login_per_minute_per_phone,
        )
        .await?;
    }

    let invalid = || AppError::new(Code::InvalidCredentials, "the phone number or password is wrong");
    // Out-of-range input cannot match an account, but is still verified against the
    // dummy hash (with a bounded password) so its timing looks like any other miss.
    let user = match Phone::parse(&phone) {
        Ok(phone) => db::run(&state.pool, move |c| Ok(repo::find_by_phone(c, phone.as_str())?)).await?,
        Err(_) => None,
    };
    let password = if Password::parse(&password).is_ok() {
        password
    } else {
        String::from("invalid-password")
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let verified = state.passwords.verify(password, stored).await?;
    // A disabled account gets the same answer as a wrong password, after the same work.
    let Some(user) = user.filter(|u| verified && u.disabled_at.is_none()) else {
        return Err(invalid());
    };

    let ttl_days = state.settings.auth.refresh_token_ttl_days;
    let user_id = user.id;
    let refresh_token = db::run(&state.pool, move |c| {
        Ok(db::write_tx(c, |c| {
            repo::issue_refresh_token(c, user_id, None, ttl_days)
        })?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(token_pair(&state, &user, refresh_token).await?))
}

/// The longest refresh token looked up; ours are far shorter, so anything longer is
/// refused without hashing a megabyte.
const MAX_REFRESH_TOKEN_CHARS: usize = 200;

/// The presented refresh token: a string is all the shape there is. Any string that
/// is not a live token (empty, too long, odd characters) is simply not one: 401 from
/// the lookup, never a 422 that would tell a prober about our token format.
fn refresh_token_field(body: JsonBody) -> AppResult<String> {
    let mut form = Form::new(body)?;
    let token = form.required("refresh_token", |v| {
        let raw = string(v)?;
        Ok(if raw.chars().count() > MAX_REFRESH_TOKEN_CHARS {
            String::new()
        } else {
            raw.to_owned()
        })
    });
    form.finish()?;
    present(token)
}

/// `POST /auth/refresh`
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "accounts", request_body = super::dto::RefreshRequest,
    responses((status = 200, description = "A new pair; the presented refresh token is spent", body = TokenPair),
              (status = 401, description = "unauthorized: unknown, expired, revoked or spent (a spent one revokes its family)")))]
pub async fn refresh(state: web::Data<AppState>, body: JsonBody) -> AppResult<HttpResponse> {
    let raw = refresh_token_field(body)?;
    let limits = SessionLimits {
        ttl_days: state.settings.auth.refresh_token_ttl_days,
        max_days: state.settings.auth.session_max_days,
    };
    let rotation = db::run(&state.pool, move |c| repo::rotate_refresh_token(c, &raw, limits)).await?;
    match rotation {
        Rotation::Rotated { user, refresh_token } => {
            Ok(HttpResponse::Ok().json(token_pair(&state, &user, refresh_token).await?))
        }
        Rotation::Refused => Err(AppError::unauthorized("the refresh token is invalid, expired or spent")),
    }
}

/// `POST /auth/logout`
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "accounts", request_body = super::dto::RefreshRequest,
    security(("bearer" = [])),
    responses((status = 204, description = "That session's refresh tokens no longer work")))]
pub async fn logout(state: web::Data<AppState>, user: AuthUser, body: JsonBody) -> AppResult<HttpResponse> {
    let raw = refresh_token_field(body)?;
    db::run(&state.pool, move |c| repo::logout(c, user.id, &raw)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /auth/logout-all` (no body)
#[utoipa::path(post, path = "/api/v1/auth/logout-all", tag = "accounts", security(("bearer" = [])),
    responses((status = 204, description = "Every refresh token of the caller stops working; access tokens expire within their lifetime")))]
pub async fn logout_all(state: web::Data<AppState>, user: AuthUser) -> AppResult<HttpResponse> {
    db::run(&state.pool, move |c| repo::logout_all(c, user.id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /me/password` `{current_password, new_password}`
#[utoipa::path(post, path = "/api/v1/me/password", tag = "accounts", request_body = super::dto::PasswordChangeRequest,
    security(("bearer" = [])),
    responses((status = 204, description = "Changed; every refresh token of the caller is revoked"),
              (status = 401, description = "invalid_credentials: the current password is wrong"),
              (status = 422, description = "validation_failed: the new password is outside 8–128 characters")))]
pub async fn change_password(state: web::Data<AppState>, user: AuthUser, body: JsonBody) -> AppResult<HttpResponse> {
    let mut form = Form::new(body)?;
    let current = form.required("current_password", |v| string(v).map(str::to_owned));
    let new = form.required("new_password", |v| Password::parse(string(v)?));
    form.finish()?;
    let (current, new) = (present(current)?, present(new)?);
    let user_id = user.id;
    let row = db::run(&state.pool, move |c| Ok(repo::find_by_id(c, user_id)?)).await?;
    // A current password no account could have is still verified (against the stored
    // hash, bounded), so a wrong guess costs the same whatever its length.
    let current = if Password::parse(&current).is_ok() {
        current
    } else {
        String::from("invalid-password")
    };
    if !state.passwords.verify(current, Some(row.password_hash)).await? {
        return Err(AppError::new(Code::InvalidCredentials, "the current password is wrong"));
    }
    let hash = state.passwords.hash(new.expose().to_owned()).await?;
    db::run(&state.pool, move |c| repo::change_password(c, user_id, &hash)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /admin/users/{id}/disable` `{reason}`
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/disable", tag = "accounts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")), request_body = super::dto::DisableRequest,
    responses((status = 200, description = "The user; they can no longer log in or refresh, and their access tokens stop working within their lifetime (at most auth.access_token_ttl_seconds)", body = UserDto),
              (status = 403, description = "forbidden: administrators only"),
              (status = 404, description = "not_found: no such user"),
              (status = 409, description = "invalid_state: already disabled, or the caller's own account")))]
pub async fn disable(
    state: web::Data<AppState>,
    admin: AdminUser,
    path: web::Path<i64>,
    body: JsonBody,
) -> AppResult<HttpResponse> {
    let mut form = Form::new(body)?;
    let reason = form.required("reason", |v| text(v, 1, 500));
    form.finish()?;
    let reason = present(reason)?;
    let id = path.into_inner();
    let row = db::run(&state.pool, move |c| {
        repo::set_disabled(c, admin.0.caller(), id, true, Some(&reason))
    })
    .await?;
    Ok(HttpResponse::Ok().json(user_dto(&state, row).await?))
}

/// `POST /admin/users/{id}/enable` (no body)
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/enable", tag = "accounts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, description = "The user, who may log in again", body = UserDto),
              (status = 403, description = "forbidden: administrators only"),
              (status = 404, description = "not_found: no such user"),
              (status = 409, description = "invalid_state: the account is not disabled")))]
pub async fn enable(state: web::Data<AppState>, admin: AdminUser, path: web::Path<i64>) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let row = db::run(&state.pool, move |c| {
        repo::set_disabled(c, admin.0.caller(), id, false, None)
    })
    .await?;
    Ok(HttpResponse::Ok().json(user_dto(&state, row).await?))
}

/// `POST /admin/identities/release` `{user_id, reason}`
#[utoipa::path(post, path = "/api/v1/admin/identities/release", tag = "accounts", security(("bearer" = [])),
    request_body = super::dto::IdentityReleaseRequest,
    responses((status = 200, description = "The user, no longer verified: the identity they held may be bound by another account (an `identity_taken` dispute resolved). Audit-logged as `user.identity_release`", body = UserDto),
              (status = 403, description = "forbidden: administrators only"),
              (status = 404, description = "not_found: no such user"),
              (status = 409, description = "invalid_state: the user has no identity bound")))]
pub async fn release_identity(state: web::Data<AppState>, admin: AdminUser, body: JsonBody) -> AppResult<HttpResponse> {
    let mut form = Form::new(body)?;
    let user_id = form.required("user_id", crate::http::form::integer);
    let reason = form.required("reason", |v| text(v, 1, 500));
    form.finish()?;
    let (user_id, reason) = (present(user_id)?, present(reason)?);
    let row = db::run(&state.pool, move |c| {
        repo::release_identity(c, admin.0.caller(), user_id, &reason)
    })
    .await?;
    Ok(HttpResponse::Ok().json(user_dto(&state, row).await?))
}

/// `GET /me`
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, description = "The caller", body = UserDto)))]
pub async fn me(state: web::Data<AppState>, user: AuthUser) -> AppResult<HttpResponse> {
    let row = db::run(&state.pool, move |c| Ok(repo::find_by_id(c, user.id)?)).await?;
    Ok(HttpResponse::Ok().json(user_dto(&state, row).await?))
}

/// The keyed hash under which an identity number is stored: HMAC-SHA256, so a
/// stolen database does not give the numbers back by brute force over the small
/// space of valid ones without the key.
fn identity_hash(state: &AppState, id_number: &IdNumber) -> AppResult<String> {
    let key = state.settings.auth.identity_hash_key.expose_secret().as_bytes();
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key).map_err(|e| AppError::Internal(anyhow::anyhow!("hmac key: {e}")))?;
    mac.update(id_number.as_str().as_bytes());
    Ok(hex::encode(mac.finalize().into_bytes()))
}

/// `POST /me/real-name`
#[utoipa::path(post, path = "/api/v1/me/real-name", tag = "accounts", request_body = super::dto::RealNameRequest,
    security(("bearer" = [])),
    responses((status = 200, description = "The caller, verified", body = UserDto),
              (status = 409, description = "identity_taken (bound to another account) or invalid_state (verified with another identity)")))]
pub async fn real_name(state: web::Data<AppState>, user: AuthUser, body: JsonBody) -> AppResult<HttpResponse> {
    let mut form = Form::new(body)?;
    let name = form.required("name", |v| text(v, 1, 50));
    let id_number = form.required("id_number", |v| IdNumber::parse(string(v)?));
    form.finish()?;
    let (name, id_number) = (present(name)?, present(id_number)?);
    let hash = identity_hash(&state, &id_number)?;
    let checked = state.clone().into_inner();
    let (checked_name, checked_number) = (name.clone(), id_number.clone());
    let verdict = web::block(move || checked.identity.verify(&checked_name, &checked_number))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("identity check: {e}")))?
        .map_err(|e| {
            tracing::warn!(error = %e, "identity verification service unavailable");
            AppError::new(
                Code::ServiceUnavailable,
                "the identity verification service is unavailable; try again",
            )
        })?;
    if let Verdict::Rejected(why) = verdict {
        return Err(AppError::field("id_number", why));
    }
    let last4 = id_number.last4().to_owned();
    let row = db::run(&state.pool, move |c| {
        repo::bind_identity(c, user.id, &name, &hash, &last4)
    })
    .await?;
    Ok(HttpResponse::Ok().json(user_dto(&state, row).await?))
}
