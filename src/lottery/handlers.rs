//! HTTP handlers of `POST /batches/{id}/entries` and `GET /me/entries`.

use actix_web::{web, HttpResponse};

use super::dto::EntryDto;
use super::repo;
use crate::auth::{AuthUser, Resident};
use crate::db;
use crate::error::{AppResult, Code};
use crate::http::query::{QueryForm, QueryMap};
use crate::state::AppState;
use crate::vouchers::desk::{overloaded, ClaimDesk};

/// `POST /batches/{id}/entries`: residents only (administrators take no subsidy).
#[utoipa::path(post, path = "/api/v1/batches/{id}/entries", tag = "fair_release", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Batch id (a lottery batch)")),
    responses((status = 201, description = "The entry, `status: entered`, with its gap-free `entry_no`", body = EntryDto),
              (status = 403, description = "forbidden (administrators take no subsidy) or real_name_required (the campaign requires real-name verification)"),
              (status = 409, description = "The first failing check, in this order: wrong_allocation (a first_come batch), campaign_not_active, claim_not_started, claim_ended (the entry window), (403 real_name_required), already_entered"),
              (status = 503, description = "overloaded: too many entries of this batch are waiting; nothing changed, retry after `Retry-After` seconds (or service_unavailable)")))]
pub async fn enter(desk: web::Data<ClaimDesk>, resident: Resident, id: web::Path<i64>) -> AppResult<HttpResponse> {
    let (batch_id, user_id) = (id.into_inner(), resident.0.id);
    let retry_after = desk.retry_after_seconds();
    let entry = match desk.into_inner().enter(batch_id, user_id).await {
        Ok(entry) => entry,
        Err(e) if e.code() == Code::Overloaded => return Ok(overloaded(e, retry_after)),
        Err(e) => return Err(e),
    };
    Ok(HttpResponse::Created().json(EntryDto::from(entry)))
}

/// `GET /me/entries`: the caller's lottery entries, newest first.
#[utoipa::path(get, path = "/api/v1/me/entries", tag = "fair_release", security(("bearer" = [])),
    params(crate::http::PageParams),
    responses((status = 200, description = "The caller's entries, newest first", body = crate::http::Page<EntryDto>)))]
pub async fn mine(state: web::Data<AppState>, user: AuthUser, query: QueryMap) -> AppResult<HttpResponse> {
    let mut query = QueryForm::new(query);
    let page = query.page();
    query.finish()?;
    let page = db::run(&state.pool, move |c| {
        let rows = repo::list_for_user(c, user.id, page)?;
        Ok(page.page(rows, |r| r.id, EntryDto::from))
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}
