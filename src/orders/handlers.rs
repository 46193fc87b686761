//! HTTP handlers of `/orders`, `/me/orders`, `/merchants/{id}/orders` and
//! `/merchants/{id}/redemptions`: parse, call the repo, answer. Create, pay and
//! refund run under the `Idempotency-Key` guard.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::dto::OrderDto;
use super::models::{OrderRow, OrderStatus};
use super::repo::{self, MoneyStep, OrderOwner, OrderRequest};
use crate::auth::{AuthUser, Resident};
use crate::db;
use crate::domain::Caller;
use crate::error::{AppError, AppResult};
use crate::http::form::{integer, integer_in, present, string, Form, JsonBody};
use crate::http::query::{QueryForm, QueryMap};
use crate::http::Page;
use crate::idempotency::{self, Claim, Completion};
use crate::payments::{MoneyMovement, ProviderAnswer};
use crate::state::AppState;

/// The answer stored under a claimed `Idempotency-Key`: `status` and the order as
/// its resident sees it, built from the row the repo's transaction returns.
fn stored_answer(claim: Option<Claim>, status: StatusCode, viewer_id: i64) -> Option<Completion<OrderRow>> {
    claim.map(|claim| claim.answer_with(status, move |order: &OrderRow| OrderDto::for_viewer(order, viewer_id)))
}

/// Order creation per resident per minute (`rate_limit.orders_per_minute_per_resident`):
/// 429 with `Retry-After` past it. A replayed `Idempotency-Key` is not counted.
fn limit_orders(state: &AppState, user_id: i64) -> AppResult<()> {
    let settings = &state.settings.rate_limit;
    if !settings.enabled {
        return Ok(());
    }
    state
        .limiter
        .hit(&format!("order:{user_id}"), settings.orders_per_minute_per_resident)
        .map_err(|retry_after| {
            crate::metrics::rate_limited("create_order");
            AppError::RateLimited(retry_after)
        })
}

/// `POST /orders` `{offer_id, quantity, voucher_id?}`
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", request_body = super::dto::CreateOrderRequest,
    security(("bearer" = [])), params(crate::http::IdempotencyKeyHeader),
    responses((status = 201, description = "The order, pending payment: stock taken, voucher locked", body = OrderDto),
              (status = 403, description = "forbidden: administrators take no subsidy"),
              (status = 404, description = "not_found: no such offer, or not visible to the caller"),
              (status = 409, description = "offer_unavailable (inactive offer, merchant not approved), out_of_stock, voucher_unavailable (not the caller's, not available, expired), idempotency_key_in_use; invalid_state: the caller already holds `orders.max_unpaid_per_resident` unpaid orders inside their payment window (pay or cancel one first; no new code: the caller's own orders are in a state that forbids another)"),
              (status = 422, description = "voucher_not_applicable (below min spend, category or district not eligible, campaign not active, caller a member of the merchant, discount above the gross), idempotency_key_reused, validation_failed"),
              (status = 429, description = "rate_limited: more than `rate_limit.orders_per_minute_per_resident` orders this minute; `Retry-After` says when to try again")))]
pub async fn create(
    state: web::Data<AppState>,
    user: Resident,
    req: HttpRequest,
    body: JsonBody,
) -> AppResult<HttpResponse> {
    let user_id = user.0.id;
    let body = body.into_inner();
    let fields = body.clone();
    // The guard borrows one handle of the state, the handler's future owns another.
    let guard_state = state.clone();
    idempotency::guard(&guard_state, &req, user_id, Some(&body), |claim| async move {
        limit_orders(&state, user_id)?;
        let mut form = Form::new(web::Json(fields))?;
        let offer_id = form.required("offer_id", integer);
        let quantity = form.required("quantity", |v| integer_in(v, 1, 99));
        let voucher_id = form.optional("voucher_id", integer);
        form.finish()?;
        let request = OrderRequest {
            user_id,
            offer_id: present(offer_id)?,
            quantity: present(quantity)?,
            voucher_id: present(voucher_id)?,
            payment_timeout: state.settings.orders.payment_timeout,
            max_unpaid: state.settings.orders.max_unpaid_per_resident,
            timezone: state.settings.timezone(),
        };
        let answer = stored_answer(claim, StatusCode::CREATED, user_id);
        let order = db::run(&state.pool, move |c| repo::create(c, request, answer)).await?;
        crate::metrics::order_transition(OrderStatus::PendingPayment.as_str());
        Ok(HttpResponse::Created().json(OrderDto::for_viewer(&order, user_id)))
    })
    .await
}

/// Asks the configured provider to move money, off the async threads (a real
/// provider makes a network call).
async fn start_movement(state: &web::Data<AppState>, movement: MoneyMovement) -> AppResult<ProviderAnswer> {
    let state = state.clone();
    web::block(move || state.payments.start(&movement))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("payment task failed: {e}")))?
        .map_err(AppError::Internal)
}

/// Gives up the order's money claim after `error`, and returns `error`.
async fn release(state: &web::Data<AppState>, order: &OrderRow, error: AppError) -> AppError {
    if let Some(claimed_at) = order.money_in_flight_at {
        let order_id = order.id;
        if let Err(e) = db::run(&state.pool, move |c| {
            repo::payment::release_claim(c, order_id, claimed_at)
        })
        .await
        {
            tracing::warn!(order_id, error = %e, "money claim not released; it goes stale by itself");
        }
    }
    error
}

async fn move_money(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    order_id: i64,
    step: &'static MoneyStep,
) -> AppResult<HttpResponse> {
    let user_id = user.id;
    // The guard borrows one handle of the state, the handler's future owns another.
    let guard_state = state.clone();
    idempotency::guard(&guard_state, &req, user_id, None, |claim| async move {
        // Claim before moving money (`step.open`): nobody is charged (or refunded)
        // for an order in the wrong state, and only one movement per order is with
        // the provider at a time; paying an overdue order cancels it. The
        // conditional UPDATE in `step.record` still decides races.
        let order = db::run(&state.pool, move |c| (step.open)(c, user_id, order_id)).await?;
        let movement = MoneyMovement {
            order_id,
            amount_fen: order.payable_fen,
            kind: step.kind,
        };
        let answer = match start_movement(&state, movement).await {
            Ok(answer) => answer,
            Err(error) => return Err(release(&state, &order, error).await),
        };
        let (provider, tz) = (state.payments.name(), state.settings.timezone());
        let stored = stored_answer(claim, StatusCode::OK, user_id);
        let recorded = db::run(&state.pool, move |c| {
            (step.record)(c, tz, user_id, order_id, provider, &answer, stored)
        })
        .await;
        let order = match recorded {
            Ok(moved) => moved,
            Err(error) => return Err(release(&state, &order, error).await),
        };
        crate::metrics::order_transition(step.to.as_str());
        Ok(HttpResponse::Ok().json(OrderDto::for_viewer(&order, user_id)))
    })
    .await
}

/// `POST /orders/{id}/pay`
#[utoipa::path(post, path = "/api/v1/orders/{id}/pay", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Order id"), crate::http::IdempotencyKeyHeader),
    responses((status = 200, description = "The paid order with its redemption code; the voucher is used", body = OrderDto),
              (status = 409, description = "invalid_state: the order is not pending payment, another payment of it is in progress, or it is past its payment_due_at (it is then cancelled in the same transaction, stock and voucher returned, even when no sweeper runs); offer_unavailable: its merchant was suspended since the order was placed (the order stays pending; cancel it); idempotency_key_in_use"),
              (status = 422, description = "voucher_not_applicable: the voucher's campaign was paused or ended since the order was placed (the order stays pending; cancel it or pay once the campaign resumes); idempotency_key_reused, validation_failed (a bad Idempotency-Key)")))]
pub async fn pay(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    move_money(state, user, req, path.into_inner(), &repo::PAY).await
}

/// `POST /orders/{id}/cancel`
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "The cancelled order: stock and voucher returned", body = OrderDto),
              (status = 409, description = "invalid_state: the order is not pending payment")))]
pub async fn cancel(state: web::Data<AppState>, user: AuthUser, path: web::Path<i64>) -> AppResult<HttpResponse> {
    let (user_id, order_id) = (user.id, path.into_inner());
    let order = db::run(&state.pool, move |c| repo::cancel(c, user_id, order_id)).await?;
    crate::metrics::order_transition(OrderStatus::Cancelled.as_str());
    Ok(HttpResponse::Ok().json(OrderDto::for_viewer(&order, user_id)))
}

/// `POST /orders/{id}/refund`
#[utoipa::path(post, path = "/api/v1/orders/{id}/refund", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Order id"), crate::http::IdempotencyKeyHeader),
    responses((status = 200, description = "The refunded order: stock back; the voucher back or void per the campaign", body = OrderDto),
              (status = 409, description = "invalid_state: the order is not paid, or a refund of it is in progress; idempotency_key_in_use"),
              (status = 422, description = "idempotency_key_reused, validation_failed (a bad Idempotency-Key)")))]
pub async fn refund(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    move_money(state, user, req, path.into_inner(), &repo::REFUND).await
}

/// `POST /merchants/{id}/redemptions` `{code}`
#[utoipa::path(post, path = "/api/v1/merchants/{id}/redemptions", tag = "orders", request_body = super::dto::RedeemRequest,
    security(("bearer" = [])), params(("id" = i64, Path, description = "Merchant id")),
    responses((status = 200, description = "The redeemed order", body = OrderDto),
              (status = 403, description = "forbidden: not a member of this (approved) merchant"),
              (status = 404, description = "not_found: unknown code, another merchant's order, or a merchant not visible to the caller"),
              (status = 409, description = "already_redeemed; invalid_state: the order is not paid")))]
pub async fn redeem(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: JsonBody,
) -> AppResult<HttpResponse> {
    let merchant_id = path.into_inner();
    let mut form = Form::new(body)?;
    let code = form.required("code", |v| {
        let code = string(v)?.trim();
        if code.len() == 12 && code.bytes().all(|b| b.is_ascii_digit()) {
            Ok(code.to_owned())
        } else {
            Err("must be a 12-digit redemption code".to_owned())
        }
    });
    form.finish()?;
    let code = present(code)?;
    let caller = user.caller();
    let order = db::run(&state.pool, move |c| repo::redeem(c, merchant_id, caller, &code)).await?;
    crate::metrics::order_transition(OrderStatus::Redeemed.as_str());
    Ok(HttpResponse::Ok().json(OrderDto::for_viewer(&order, user.id)))
}

/// `GET /orders/{id}`
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "The order (its resident, its merchant's members and admins; the code only for its resident)", body = OrderDto)))]
pub async fn get(state: web::Data<AppState>, user: AuthUser, path: web::Path<i64>) -> AppResult<HttpResponse> {
    let order_id = path.into_inner();
    let caller = user.caller();
    let order = db::run(&state.pool, move |c| repo::visible_order(c, order_id, caller)).await?;
    Ok(HttpResponse::Ok().json(OrderDto::for_viewer(&order, user.id)))
}

async fn list(
    state: &AppState,
    viewer_id: i64,
    owner: OrderOwner,
    query: QueryMap,
    membership_of: Option<Caller>,
) -> AppResult<HttpResponse> {
    let mut form = QueryForm::new(query);
    let status = form
        .choice("status", OrderStatus::NAMES)
        .and_then(|s| OrderStatus::parse(&s));
    let page = form.page();
    form.finish()?;
    let rows = db::run(&state.pool, move |c| {
        if let (Some(caller), OrderOwner::Merchant(merchant_id)) = (membership_of, owner) {
            repo::require_member(c, merchant_id, caller)?;
        }
        Ok(repo::list(c, owner, status, page)?)
    })
    .await?;
    let page: Page<OrderDto> = page.page(rows, |o| o.id, |o| OrderDto::for_viewer(&o, viewer_id));
    Ok(HttpResponse::Ok().json(page))
}

/// `GET /me/orders?status=`
#[utoipa::path(get, path = "/api/v1/me/orders", tag = "orders", security(("bearer" = [])),
    params(("status" = Option<OrderStatus>, Query, description = "Only this status"),
           crate::http::PageParams),
    responses((status = 200, description = "The caller's orders, newest first", body = crate::http::Page<OrderDto>)))]
pub async fn my_orders(state: web::Data<AppState>, user: AuthUser, query: QueryMap) -> AppResult<HttpResponse> {
    list(&state, user.id, OrderOwner::User(user.id), query, None).await
}

/// `GET /merchants/{id}/orders?status=` (members only)
#[utoipa::path(get, path = "/api/v1/merchants/{id}/orders", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Merchant id"),
           ("status" = Option<OrderStatus>, Query, description = "Only this status"),
           crate::http::PageParams),
    responses((status = 200, description = "The merchant's orders, newest first", body = crate::http::Page<OrderDto>),
              (status = 403, description = "forbidden: not a member of this (approved) merchant")))]
pub async fn merchant_orders(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    query: QueryMap,
) -> AppResult<HttpResponse> {
    let merchant_id = path.into_inner();
    list(
        &state,
        user.id,
        OrderOwner::Merchant(merchant_id),
        query,
        Some(user.caller()),
    )
    .await
}
