//! HTTP handlers of the lottery: `POST /batches/{id}/entries`, `GET /me/entries`,
//! `POST /admin/batches/{id}/draw`, `GET /batches/{id}/draw` and its `/winners`.

use actix_web::{web, HttpResponse};

use super::dto::{DrawDto, EntryDto};
use super::{draw, repo};
use crate::auth::{AdminUser, AuthUser, MaybeUser, Resident};
use crate::campaigns::models::{Allocation, BatchRow};
use crate::db;
use crate::error::{AppError, AppResult, Code};
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

/// `POST /admin/batches/{id}/draw`: draws a lottery batch whose entry window has
/// closed (or finishes a draw the job started), now.
#[utoipa::path(post, path = "/api/v1/admin/batches/{id}/draw", tag = "fair_release", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Batch id (a lottery batch)")),
    responses((status = 200, description = "The draw: seed published, winners' vouchers issued", body = DrawDto),
              (status = 403, description = "forbidden: administrators only"),
              (status = 404, description = "not_found: no such batch"),
              (status = 409, description = "invalid_state: the entry window has not closed, or the batch was drawn already; wrong_allocation: a first_come batch")))]
pub async fn draw(state: web::Data<AppState>, admin: AdminUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    let (batch_id, actor) = (id.into_inner(), admin.0.id);
    let settings = state.settings.lottery.clone();
    let batch = db::run(&state.pool, move |c| draw::draw(c, &settings, batch_id, Some(actor))).await?;
    let dto = DrawDto::of(&batch).ok_or_else(AppError::not_found)?;
    Ok(HttpResponse::Ok().json(dto))
}

/// The batch behind `{id}` of the draw endpoints, as the caller may see it.
async fn visible_lottery_batch(state: &AppState, user: MaybeUser, batch_id: i64) -> AppResult<BatchRow> {
    let any_status = user.0.is_some_and(|u| u.is_admin());
    db::run(&state.pool, move |c| {
        let batch = repo::visible_batch(c, batch_id, any_status)?.ok_or_else(AppError::not_found)?;
        match batch.allocation {
            Allocation::Lottery => Ok(batch),
            Allocation::FirstCome => Err(draw::NotDrawable::FirstCome.into()),
        }
    })
    .await
}

/// `GET /batches/{id}/draw`: anyone, for a batch of a campaign that is not a draft.
#[utoipa::path(get, path = "/api/v1/batches/{id}/draw", tag = "fair_release", security((), ("bearer" = [])),
    params(("id" = i64, Path, description = "Batch id (a lottery batch)")),
    responses((status = 200, description = "The draw: commitment and entries; seed, winners and drawn_at once drawn", body = DrawDto),
              (status = 404, description = "not_found: no such batch (or its campaign is a draft)"),
              (status = 409, description = "wrong_allocation: a first_come batch has no draw")))]
pub async fn show_draw(state: web::Data<AppState>, user: MaybeUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    let batch = visible_lottery_batch(&state, user, id.into_inner()).await?;
    let dto = DrawDto::of(&batch).ok_or_else(AppError::not_found)?;
    Ok(HttpResponse::Ok().json(dto))
}

/// `GET /batches/{id}/draw/winners`: the winning entry numbers, ascending (empty
/// until drawn).
#[utoipa::path(get, path = "/api/v1/batches/{id}/draw/winners", tag = "fair_release", security((), ("bearer" = [])),
    params(("id" = i64, Path, description = "Batch id (a lottery batch)"), crate::http::PageParams),
    responses((status = 200, description = "Winning entry_no values, ascending", body = crate::http::Page<i64>),
              (status = 404, description = "not_found: no such batch (or its campaign is a draft)"),
              (status = 409, description = "wrong_allocation: a first_come batch has no draw")))]
pub async fn winners(
    state: web::Data<AppState>,
    user: MaybeUser,
    id: web::Path<i64>,
    query: QueryMap,
) -> AppResult<HttpResponse> {
    let mut query = QueryForm::new(query);
    let page = query.page();
    query.finish()?;
    let batch = visible_lottery_batch(&state, user, id.into_inner()).await?;
    let page = db::run(&state.pool, move |c| {
        let rows = repo::winners_page(c, batch.id, page)?;
        Ok(page.page(rows, |n| *n, |n| n))
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}
