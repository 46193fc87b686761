//! HTTP handlers of `POST /batches/{id}/claim` and `GET /me/vouchers`.

use actix_web::{web, HttpResponse};

use super::dto::VoucherDto;
use super::repo;
use super::status::VoucherStatus;
use crate::auth::{AuthUser, Resident};
use crate::db;
use crate::error::AppResult;
use crate::http::query::{QueryForm, QueryMap};
use crate::state::AppState;
use crate::time::now;

/// `POST /batches/{id}/claim`: residents only (administrators take no subsidy).
#[utoipa::path(post, path = "/api/v1/batches/{id}/claim", tag = "vouchers", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Batch id")),
    responses((status = 201, description = "The voucher, `status: available`", body = VoucherDto),
              (status = 403, description = "forbidden (administrators take no subsidy) or real_name_required (the campaign requires real-name verification)"),
              (status = 409, description = "The first failing check, in this order: campaign_not_active, claim_not_started, claim_ended, (403 real_name_required), claim_limit_reached, sold_out")))]
pub async fn claim(state: web::Data<AppState>, resident: Resident, id: web::Path<i64>) -> AppResult<HttpResponse> {
    let (batch_id, user_id) = (id.into_inner(), resident.0.id);
    let voucher = db::run(&state.pool, move |c| repo::claim(c, batch_id, user_id)).await?;
    crate::metrics::voucher_claimed();
    let at = voucher.claimed_at;
    Ok(HttpResponse::Created().json(VoucherDto::new(voucher, at)))
}

/// `GET /me/vouchers?status=`: the caller's vouchers by effective status.
#[utoipa::path(get, path = "/api/v1/me/vouchers", tag = "vouchers", security(("bearer" = [])),
    params(crate::http::PageParams,
           ("status" = Option<VoucherStatus>, Query, description = "Only vouchers that read this status now")),
    responses((status = 200, description = "The caller's vouchers, newest first", body = crate::http::Page<VoucherDto>)))]
pub async fn mine(state: web::Data<AppState>, user: AuthUser, query: QueryMap) -> AppResult<HttpResponse> {
    let mut query = QueryForm::new(query);
    let page = query.page();
    let status = query
        .choice("status", VoucherStatus::NAMES)
        .and_then(|s| VoucherStatus::parse(&s));
    query.finish()?;
    let at = now();
    let page = db::run(&state.pool, move |c| {
        let rows = repo::list_for_user(c, user.id, status, at, page)?;
        Ok(page.page(rows, |r| r.id, |r| VoucherDto::new(r, at)))
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}
