//! HTTP handlers of `/auth/*` and `/me`: parse, call the repo, answer.

use actix_web::{web, HttpRequest, HttpResponse};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;

use super::dto::{TokenPair, UserDto};
use super::models::UserRow;
use super::repo::{self, Rotation};
use crate::auth::AuthUser;
use crate::db;
use crate::domain::{IdNumber, Password, Phone, Role};
use crate::error::{AppError, AppResult, Code};
use crate::http::form::{present, string, text, Form, JsonBody};
use crate::state::AppState;

fn client_ip(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Counts one attempt against `limit`; 429 with `Retry-After` past it.
fn limit(state: &AppState, endpoint: &'static str, key: String, limit: u32) -> AppResult<()> {
    if !state.settings.rate_limit.enabled {
        return Ok(());
    }
    state.limiter.hit(&key, limit).map_err(|retry_after| {
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
        format!("register:ip:{}", client_ip(&req)),
        state.settings.rate_limit.register_per_minute_per_ip,
    )?;
    let mut form = Form::new(body)?;
    let phone = form.required("phone", |v| Phone::parse(string(v)?));
    let password = form.required("password", |v| Password::parse(string(v)?));
    let display_name = form.required("display_name", |v| text(v, 1, 64));
    form.finish()?;
    let (phone, password, display_name) = (present(phone)?, present(password)?, present(display_name)?);

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
        format!("login:ip:{}", client_ip(&req)),
        limits.login_per_minute_per_ip,
    )?;
    let mut form = Form::new(body)?;
    let phone = form.required("phone", |v| string(v).map(str::to_owned));
    let password = form.required("password", |v| string(v).map(str::to_owned));
    form.finish()?;
    let (phone, password) = (present(phone)?, present(password)?);
    limit(
        &state,
        "login",
        format!("login:phone:{phone}"),
        limits.login_per_minute_per_phone,
    )?;

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
    let Some(user) = user.filter(|_| verified) else {
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

fn refresh_token_field(body: JsonBody) -> AppResult<String> {
    let mut form = Form::new(body)?;
    let token = form.required("refresh_token", |v| text(v, 1, 200));
    form.finish()?;
    present(token)
}

/// `POST /auth/refresh`
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "accounts", request_body = super::dto::RefreshRequest,
    responses((status = 200, description = "A new pair; the presented refresh token is spent", body = TokenPair),
              (status = 401, description = "unauthorized: unknown, expired, revoked or spent (a spent one revokes its family)")))]
pub async fn refresh(state: web::Data<AppState>, body: JsonBody) -> AppResult<HttpResponse> {
    let raw = refresh_token_field(body)?;
    let ttl_days = state.settings.auth.refresh_token_ttl_days;
    let rotation = db::run(&state.pool, move |c| repo::rotate_refresh_token(c, &raw, ttl_days)).await?;
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
    let last4 = id_number.last4().to_owned();
    let row = db::run(&state.pool, move |c| {
        repo::bind_identity(c, user.id, &name, &hash, &last4)
    })
    .await?;
    Ok(HttpResponse::Ok().json(user_dto(&state, row).await?))
}
