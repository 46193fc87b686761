//! `/admin/campaigns/{id}/report`, `/report.csv`, `/admin/settlements`,
//! `/admin/overview`: administrators only.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::csv::ReportTable;
use super::dto::{CampaignReport, Overview, Settlements};
use super::{csv, repo};
use crate::auth::AdminUser;
use crate::db;
use crate::error::{AppError, AppResult};
use crate::http::query::{QueryForm, QueryMap};
use crate::state::AppState;
use crate::time::now;

/// `GET /admin/campaigns/{id}/report`
#[utoipa::path(get, path = "/api/v1/admin/campaigns/{id}/report", tag = "reports", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, description = "The campaign's report", body = CampaignReport),
              (status = 403, description = "forbidden: administrators only")))]
pub async fn campaign_report(state: web::Data<AppState>, _: AdminUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    let (tz, id) = (state.settings.timezone(), id.into_inner());
    let report = db::run(&state.pool, move |c| {
        db::read_snapshot(c, |c| repo::campaign_report(c, tz, id, now()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(CampaignReport::from(report)))
}

/// `GET /admin/campaigns/{id}/report.csv?table=`
#[utoipa::path(get, path = "/api/v1/admin/campaigns/{id}/report.csv", tag = "reports", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id"),
           ("table" = Option<String>, Query, description = "`by_merchant` (default): the by_merchant rows, header `merchant_id,name,orders,consumption_fen,subsidy_fen,leverage`. `causal`: the causal figures, header `winners,losers,winners_mean_consumption_fen,losers_mean_consumption_fen,incremental_per_winner_fen,subsidy_per_winner_fen,causal_leverage,ci95_low,ci95_high` and one row (none while the report's `causal` is null)")),
    responses((status = 200, description = "The table as CSV, UTF-8 with a byte-order mark; fen as integers, ratios with up to 4 decimals, empty when null", content_type = "text/csv", body = String),
              (status = 403, description = "forbidden: administrators only")))]
pub async fn campaign_report_csv(
    state: web::Data<AppState>,
    _: AdminUser,
    id: web::Path<i64>,
    query: QueryMap,
) -> AppResult<HttpResponse> {
    let mut q = QueryForm::new(query);
    let table = q
        .one_of::<ReportTable>("table", ReportTable::NAMES)
        .unwrap_or(ReportTable::ByMerchant);
    q.finish()?;
    let (tz, id) = (state.settings.timezone(), id.into_inner());
    let report = db::run(&state.pool, move |c| {
        db::read_snapshot(c, |c| repo::campaign_report(c, tz, id, now()))
    })
    .await?;
    let body = match table {
        ReportTable::ByMerchant => csv::by_merchant(&report.by_merchant),
        ReportTable::Causal => csv::causal(report.causal.as_ref()),
    };
    // campaign-7-by-merchant.csv, campaign-7-causal.csv
    let name = table.as_str().replace('_', "-");
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"campaign-{id}-{name}.csv\""),
        ))
        .body(body))
}

/// `GET /admin/settlements?campaign_id=&from=&to=`
#[utoipa::path(get, path = "/api/v1/admin/settlements", tag = "reports", security(("bearer" = [])),
    params(("campaign_id" = Option<i64>, Query, description = "Only this campaign's vouchers"),
           ("from" = Option<String>, Query, format = DateTime, description = "Redeemed at or after (RFC 3339)"),
           ("to" = Option<String>, Query, format = DateTime, description = "Redeemed before (RFC 3339)")),
    responses((status = 200, description = "Subsidy owed per merchant", body = Settlements),
              (status = 403, description = "forbidden: administrators only"),
              (status = 404, description = "not_found: no such campaign")))]
pub async fn settlements(state: web::Data<AppState>, _: AdminUser, query: QueryMap) -> AppResult<HttpResponse> {
    let mut q = QueryForm::new(query);
    let campaign_id = q.integer("campaign_id");
    let from = q.timestamp("from");
    let to = q.timestamp("to");
    q.finish()?;
    if let (Some(from), Some(to)) = (from, to) {
        if to < from {
            return Err(AppError::field("to", "must not be before from"));
        }
    }
    let settlements = db::run(&state.pool, move |c| repo::settlements(c, campaign_id, from, to)).await?;
    Ok(HttpResponse::Ok().json(Settlements::from(settlements)))
}

/// `GET /admin/overview`
#[utoipa::path(get, path = "/api/v1/admin/overview", tag = "reports", security(("bearer" = [])),
    responses((status = 200, description = "Platform totals", body = Overview),
              (status = 403, description = "forbidden: administrators only")))]
pub async fn overview(state: web::Data<AppState>, _: AdminUser) -> AppResult<HttpResponse> {
    let overview = db::run(&state.pool, repo::overview).await?;
    Ok(HttpResponse::Ok().json(Overview::from(overview)))
}
