//! HTTP handlers of `/admin/risk…`: the queue (from the stored scan) and a scan now.

use actix_web::{web, HttpResponse};

use super::dto::RiskMerchantDto;
use super::repo;
use crate::auth::AdminUser;
use crate::db;
use crate::error::{AppError, AppResult};
use crate::http::query::{QueryForm, QueryMap};
use crate::http::{encode_cursor, Page};
use crate::state::AppState;

/// `GET /admin/risk/merchants`
#[utoipa::path(get, path = "/api/v1/admin/risk/merchants", tag = "risk", security(("bearer" = [])),
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size (default 20)"),
           ("cursor" = Option<String>, Query, pattern = "^[A-Za-z0-9_-]+$", description = "`next_cursor` of the previous page (opaque)")),
    responses((status = 200, description = "Merchants with at least one signal, by score descending, as of the latest scan \
                (the closing job's, or `POST /admin/risk/scan`)", body = crate::http::Page<RiskMerchantDto>),
              (status = 403, description = "forbidden: administrators only")))]
pub async fn queue(state: web::Data<AppState>, _admin: AdminUser, query: QueryMap) -> AppResult<HttpResponse> {
    let mut form = QueryForm::new(query);
    let page = form.page();
    form.finish()?;
    // The cursor is the offset of the next row: the order is by score, not by id.
    let offset = page.after.unwrap_or(0).max(0);
    let mut rows = db::run(&state.pool, move |c| Ok(repo::queue(c, offset, page.fetch())?)).await?;
    let has_more = rows.len() as i64 > page.limit;
    rows.truncate(page.limit as usize);
    let next_cursor = has_more.then(|| encode_cursor(offset + page.limit));
    Ok(HttpResponse::Ok().json(Page {
        items: rows.into_iter().map(RiskMerchantDto::from).collect::<Vec<_>>(),
        next_cursor,
    }))
}

/// `POST /admin/risk/scan` (no body)
#[utoipa::path(post, path = "/api/v1/admin/risk/scan", tag = "risk", security(("bearer" = [])),
    responses((status = 200, description = "Scans every voucher order now, stores the findings and answers the \
                first page of the queue", body = crate::http::Page<RiskMerchantDto>),
              (status = 403, description = "forbidden: administrators only")))]
pub async fn scan_now(state: web::Data<AppState>, _admin: AdminUser) -> AppResult<HttpResponse> {
    let settings = state.settings.clone();
    db::run(&state.pool, move |c| {
        repo::refresh(c, &settings.risk).map_err(AppError::Internal)?;
        Ok(())
    })
    .await?;
    let mut rows = db::run(&state.pool, move |c| Ok(repo::queue(c, 0, 21)?)).await?;
    let has_more = rows.len() > 20;
    rows.truncate(20);
    Ok(HttpResponse::Ok().json(Page {
        items: rows.into_iter().map(RiskMerchantDto::from).collect::<Vec<_>>(),
        next_cursor: has_more.then(|| encode_cursor(20)),
    }))
}
