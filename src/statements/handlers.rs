//! HTTP handlers of `/admin/statements…`, `/merchants/{id}/statements` and
//! `/admin/orders/{id}/reverse`: parse, call, answer.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::NaiveDate;

use super::csv::{self, StatementFigures};
use super::dto::{LineDto, StatementDetailDto, StatementDto};
use super::models::{LineRow, StatementRow, StatementStatus};
use super::repo::lifecycle::{self, Move};
use super::repo::queries::{self, Filter};
use super::reversal;
use crate::auth::{AdminUser, AuthUser};
use crate::db;
use crate::error::{AppError, AppResult};
use crate::http::form::{present, text, Form, JsonBody};
use crate::http::query::{QueryForm, QueryMap};
use crate::orders::dto::OrderDto;
use crate::state::AppState;

/// `GET /admin/statements?status=&merchant_id=&day=`
#[utoipa::path(get, path = "/api/v1/admin/statements", tag = "statements", security(("bearer" = [])),
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size (default 20)"),
           ("cursor" = Option<String>, Query, pattern = "^[A-Za-z0-9_-]+$", description = "`next_cursor` of the previous page (opaque)"),
           ("status" = Option<StatementStatus>, Query, description = "Only this status"),
           ("merchant_id" = Option<i64>, Query, description = "Only this merchant's"),
           ("day" = Option<String>, Query, format = Date, description = "Only this platform-local day (`YYYY-MM-DD`)")),
    responses((status = 200, description = "Statements, newest first", body = crate::http::Page<StatementDto>),
              (status = 403, description = "forbidden: administrators only")))]
pub async fn admin_list(state: web::Data<AppState>, _admin: AdminUser, query: QueryMap) -> AppResult<HttpResponse> {
    let mut form = QueryForm::new(query);
    let page = form.page();
    let status = form
        .choice("status", StatementStatus::NAMES)
        .and_then(|s| StatementStatus::parse(&s));
    let merchant_id = form.integer("merchant_id");
    let day = form.text("day", 10);
    form.finish()?;
    if let Some(day) = &day {
        NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| AppError::field("day", "must be a date, YYYY-MM-DD"))?;
    }
    let filter = Filter {
        status,
        merchant_id,
        day,
    };
    let rows = db::run(&state.pool, move |c| Ok(queries::list(c, &filter, page)?)).await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |r| r.id, StatementDto::from)))
}

/// `GET /admin/statements/{id}`
#[utoipa::path(get, path = "/api/v1/admin/statements/{id}", tag = "statements", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Statement id")),
    responses((status = 200, description = "The statement with its lines", body = StatementDetailDto),
              (status = 403, description = "forbidden: administrators only")))]
pub async fn show(state: web::Data<AppState>, admin: AdminUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    let (caller, id) = (admin.0.caller(), id.into_inner());
    let (statement, lines) = db::run(&state.pool, move |c| queries::detail(c, caller, id)).await?;
    Ok(HttpResponse::Ok().json(StatementDetailDto {
        statement: StatementDto::from(statement),
        lines: lines.into_iter().map(LineDto::from).collect(),
    }))
}

/// `GET /admin/statements/{id}.csv`
#[utoipa::path(get, path = "/api/v1/admin/statements/{id}.csv", tag = "statements", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Statement id")),
    responses((status = 200, description = "The statement's lines and totals as CSV, UTF-8 with a byte-order mark; \
                its SHA-256 is the statement's `digest`", content_type = "text/csv", body = String),
              (status = 403, description = "forbidden: administrators only")))]
pub async fn show_csv(state: web::Data<AppState>, admin: AdminUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    let (caller, id) = (admin.0.caller(), id.into_inner());
    let (s, lines) = db::run(&state.pool, move |c| queries::detail(c, caller, id)).await?;
    Ok(csv_answer(&s, &lines))
}

/// `GET /merchants/{id}/statements/{statement_id}.csv`: the same CSV for the
/// merchant's members (the console's download), byte for byte, so its digest holds.
#[utoipa::path(get, path = "/api/v1/merchants/{id}/statements/{statement_id}.csv", tag = "statements", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Merchant id"), ("statement_id" = i64, Path, description = "Statement id")),
    responses((status = 200, description = "The statement's CSV as admins get it; its members only, anyone else (and \
                another merchant's statement) gets 404", content_type = "text/csv", body = String)))]
pub async fn merchant_csv(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (caller, (merchant_id, id)) = (user.caller(), path.into_inner());
    let (s, lines) = db::run(&state.pool, move |c| queries::detail(c, caller, id)).await?;
    if s.merchant_id != merchant_id {
        return Err(AppError::not_found());
    }
    Ok(csv_answer(&s, &lines))
}

fn csv_answer(s: &StatementRow, lines: &[LineRow]) -> HttpResponse {
    let body = csv::statement(
        &StatementFigures {
            id: s.id,
            merchant_id: s.merchant_id,
            name: &s.name,
            day: &s.day,
            subsidy_fen: s.subsidy_fen,
            clawback_fen: s.clawback_fen,
            net_fen: s.net_fen,
            carried_in_fen: s.carried_in_fen,
            payout_fen: s.payout_fen,
        },
        lines,
    );
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"statement-{}-{}.csv\"", s.id, s.day),
        ))
        .body(body)
}

fn reason_field(body: JsonBody, name: &str, max: usize) -> AppResult<String> {
    let mut form = Form::new(body)?;
    let value = form.required(name, |v| text(v, 1, max));
    form.finish()?;
    present(value)
}

async fn change(state: web::Data<AppState>, admin: AdminUser, id: i64, change: Move) -> AppResult<HttpResponse> {
    let caller = admin.0.caller();
    let row = db::run(&state.pool, move |c| lifecycle::apply(c, caller, id, change)).await?;
    Ok(HttpResponse::Ok().json(StatementDto::from(row)))
}

/// `POST /admin/statements/{id}/hold` `{reason}`
#[utoipa::path(post, path = "/api/v1/admin/statements/{id}/hold", tag = "statements", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Statement id")), request_body = super::dto::ReasonRequest,
    responses((status = 200, description = "The statement, `status: held`, `hold_reason` the reason", body = StatementDto),
              (status = 403, description = "forbidden: administrators only"),
              (status = 409, description = "invalid_state: the statement is approved or paid")))]
pub async fn hold(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<i64>,
    body: JsonBody,
) -> AppResult<HttpResponse> {
    let reason = reason_field(body, "reason", 500)?;
    change(state, admin, id.into_inner(), Move::Hold { reason }).await
}

/// `POST /admin/statements/{id}/release` (no body)
#[utoipa::path(post, path = "/api/v1/admin/statements/{id}/release", tag = "statements", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Statement id")),
    responses((status = 200, description = "The statement, `status: closed` again", body = StatementDto),
              (status = 403, description = "forbidden: administrators only"),
              (status = 409, description = "invalid_state: the statement is not held")))]
pub async fn release(state: web::Data<AppState>, admin: AdminUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    change(state, admin, id.into_inner(), Move::Release).await
}

/// `POST /admin/statements/{id}/approve` (no body)
#[utoipa::path(post, path = "/api/v1/admin/statements/{id}/approve", tag = "statements", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Statement id")),
    responses((status = 200, description = "The statement, `status: approved`", body = StatementDto),
              (status = 403, description = "forbidden: administrators only"),
              (status = 409, description = "invalid_state: the statement is not closed (held ones are released first)")))]
pub async fn approve(state: web::Data<AppState>, admin: AdminUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    change(state, admin, id.into_inner(), Move::Approve).await
}

/// `POST /admin/statements/{id}/paid` `{payout_reference}`
#[utoipa::path(post, path = "/api/v1/admin/statements/{id}/paid", tag = "statements", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Statement id")), request_body = super::dto::PaidRequest,
    responses((status = 200, description = "The statement, `status: paid`, with the payout reference", body = StatementDto),
              (status = 403, description = "forbidden: administrators only"),
              (status = 409, description = "invalid_state: the statement is not approved")))]
pub async fn paid(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<i64>,
    body: JsonBody,
) -> AppResult<HttpResponse> {
    let payout_reference = reason_field(body, "payout_reference", 100)?;
    change(state, admin, id.into_inner(), Move::Paid { payout_reference }).await
}

/// `GET /merchants/{id}/statements`
#[utoipa::path(get, path = "/api/v1/merchants/{id}/statements", tag = "statements", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Merchant id"),
           ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size (default 20)"),
           ("cursor" = Option<String>, Query, pattern = "^[A-Za-z0-9_-]+$", description = "`next_cursor` of the previous page (opaque)")),
    responses((status = 200, description = "The merchant's statements, newest first; its members (and admins) only, \
                anyone else gets 404", body = crate::http::Page<StatementDto>)))]
pub async fn merchant_list(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
    query: QueryMap,
) -> AppResult<HttpResponse> {
    let mut form = QueryForm::new(query);
    let page = form.page();
    form.finish()?;
    let (caller, merchant_id) = (user.caller(), id.into_inner());
    let rows = db::run(&state.pool, move |c| {
        queries::for_merchant(c, caller, merchant_id, page)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |r| r.id, StatementDto::from)))
}

/// `POST /admin/orders/{id}/reverse` `{reason}`
#[utoipa::path(post, path = "/api/v1/admin/orders/{id}/reverse", tag = "statements", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Order id")), request_body = super::dto::ReasonRequest,
    responses((status = 200, description = "The order, `status: reversed`: out of every report; clawed back on the \
                merchant's next statement when it already stood on a closed one", body = OrderDto),
              (status = 403, description = "forbidden: administrators only"),
              (status = 409, description = "invalid_state: the order is not redeemed")))]
pub async fn reverse(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<i64>,
    body: JsonBody,
) -> AppResult<HttpResponse> {
    let reason = reason_field(body, "reason", 500)?;
    let (caller, id, tz) = (admin.0.caller(), id.into_inner(), state.settings.timezone());
    let order = db::run(&state.pool, move |c| reversal::reverse(c, tz, caller, id, &reason)).await?;
    Ok(HttpResponse::Ok().json(OrderDto::for_viewer(&order, caller.id)))
}
