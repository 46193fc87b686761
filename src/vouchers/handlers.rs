//! HTTP handlers of `POST /batches/{id}/claim` and `GET /me/vouchers`.

use actix_web::{web, HttpResponse};

use super::desk::ClaimDesk;
use super::dto::VoucherDto;
use super::repo;
use super::status::VoucherStatus;
use crate::auth::{AuthUser, Resident};
use crate::db;
use crate::error::{AppResult, Code};
use crate::http::query::{QueryForm, QueryMap};
use crate::state::AppState;
use crate::time::now;

/// `POST /batches/{id}/claim`: residents only (administrators take no subsidy).
#[utoipa::path(post, path = "/api/v1/batches/{id}/claim", tag = "vouchers", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Batch id")),
    responses((status = 201, description = "The voucher, `status: available`", body = VoucherDto),
              (status = 403, description = "forbidden (administrators take no subsidy) or real_name_required (the campaign requires real-name verification)"),
              (status = 409, description = "The first failing check, in this order: wrong_allocation (a lottery batch), campaign_not_active, claim_not_started, claim_ended, (403 real_name_required), claim_limit_reached, sold_out, sold_out_today (the batch's daily_quantity is claimed for this platform-local day)"),
              (status = 503, description = "overloaded: too many claims of this batch are waiting in this instance; nothing changed, retry after `Retry-After` seconds (or service_unavailable: the database is busy or down)")))]
pub async fn claim(desk: web::Data<ClaimDesk>, resident: Resident, id: web::Path<i64>) -> AppResult<HttpResponse> {
    let (batch_id, user_id) = (id.into_inner(), resident.0.id);
    let retry_after = desk.retry_after_seconds();
    let voucher = match desk.into_inner().claim(batch_id, user_id).await {
        Ok(voucher) => voucher,
        Err(e) if e.code() == Code::Overloaded => return Ok(super::desk::overloaded(e, retry_after)),
        Err(e) => return Err(e),
    };
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
