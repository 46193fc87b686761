//! HTTP handlers of `/admin/campaigns*`, `/campaigns*`: parse, call the repo, answer.

use actix_web::{web, HttpResponse};
use serde_json::Value;

use super::dto::{BatchDto, CampaignDto};
use super::models::{CampaignRow, STATUSES};
use super::repo::{self, BatchDraft, CampaignDraft, Move};
use crate::auth::{AdminUser, MaybeUser};
use crate::db::{self, DbConnection};
use crate::domain::category::CATEGORIES;
use crate::error::{AppError, AppResult};
use crate::http::form::{boolean, choice_list, integer_in, number, present, text, timestamp, Form, JsonBody};
use crate::http::query::{QueryForm, QueryMap};
use crate::http::{Page, PageRequest};
use crate::startup::AppState;

const MAX_FEN: i64 = 100_000_000;
const MAX_BUDGET_FEN: i64 = 1_000_000_000_000;

fn leverage(value: &Value) -> Result<f64, String> {
    let n = number(value)?;
    if n > 0.0 && n <= 1000.0 {
        Ok(n)
    } else {
        Err("must be greater than 0 and at most 1000".to_owned())
    }
}

/// `POST /admin/campaigns`
pub async fn create(state: web::Data<AppState>, admin: AdminUser, body: JsonBody) -> AppResult<HttpResponse> {
    let districts: Vec<&str> = state.settings.platform.districts.iter().map(String::as_str).collect();
    let mut form = Form::new(body)?;
    let name = form.required("name", |v| text(v, 1, 100));
    let description = form.optional("description", |v| text(v, 0, 2000));
    let budget_fen = form.required("budget_fen", |v| integer_in(v, 1, MAX_BUDGET_FEN));
    let target_leverage = form.required("target_leverage", leverage);
    let starts_at = form.required("starts_at", timestamp);
    let ends_at = form.required("ends_at", timestamp);
    let categories = form.optional("eligible_categories", |v| choice_list(v, CATEGORIES));
    let districts = form.optional("eligible_districts", |v| choice_list(v, &districts));
    let require_real_name = form.optional("require_real_name", boolean);
    let refund_returns_voucher = form.optional("refund_returns_voucher", boolean);
    if let (Some(s), Some(e)) = (starts_at, ends_at) {
        if e <= s {
            form.reject("ends_at", "must be after starts_at");
        }
    }
    form.finish()?;
    let draft = CampaignDraft {
        name: present(name)?,
        description: present(description)?.unwrap_or_default(),
        budget_fen: present(budget_fen)?,
        target_leverage: present(target_leverage)?,
        starts_at: present(starts_at)?,
        ends_at: present(ends_at)?,
        eligible_categories: present(categories)?.unwrap_or_default(),
        eligible_districts: present(districts)?.unwrap_or_default(),
        require_real_name: present(require_real_name)?.unwrap_or(false),
        refund_returns_voucher: present(refund_returns_voucher)?.unwrap_or(false),
    };
    let actor = admin.0.id;
    let row = db::run(&state.pool, move |c| repo::create_campaign(c, actor, &draft)).await?;
    Ok(HttpResponse::Created().json(CampaignDto::new(row, Vec::new())))
}

async fn move_campaign(state: &AppState, admin: AdminUser, id: i64, step: Move) -> AppResult<HttpResponse> {
    let actor = admin.0.id;
    let dto = db::run(&state.pool, move |c| {
        let row = repo::transition(c, actor, id, step)?;
        with_batches(c, row)
    })
    .await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// `POST /admin/campaigns/{id}/publish`
pub async fn publish(state: web::Data<AppState>, admin: AdminUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    move_campaign(&state, admin, id.into_inner(), Move::Publish).await
}

/// `POST /admin/campaigns/{id}/pause`
pub async fn pause(state: web::Data<AppState>, admin: AdminUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    move_campaign(&state, admin, id.into_inner(), Move::Pause).await
}

/// `POST /admin/campaigns/{id}/resume`
pub async fn resume(state: web::Data<AppState>, admin: AdminUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    move_campaign(&state, admin, id.into_inner(), Move::Resume).await
}

/// `POST /admin/campaigns/{id}/end`
pub async fn end(state: web::Data<AppState>, admin: AdminUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    move_campaign(&state, admin, id.into_inner(), Move::End).await
}

/// `POST /admin/campaigns/{id}/batches`
pub async fn create_batch(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<i64>,
    body: JsonBody,
) -> AppResult<HttpResponse> {
    let mut form = Form::new(body)?;
    let name = form.required("name", |v| text(v, 1, 100));
    let discount_fen = form.required("discount_fen", |v| integer_in(v, 1, MAX_FEN));
    let min_spend_fen = form.required("min_spend_fen", |v| integer_in(v, 0, MAX_FEN));
    let quantity = form.required("quantity", |v| integer_in(v, 1, 10_000_000));
    let per_user_limit = form.required("per_user_limit", |v| integer_in(v, 1, 100));
    let claim_starts_at = form.required("claim_starts_at", timestamp);
    let claim_ends_at = form.required("claim_ends_at", timestamp);
    let valid_days = form.required("valid_days", |v| integer_in(v, 1, 366));
    if let (Some(d), Some(m)) = (discount_fen, min_spend_fen) {
        if m != 0 && d > m {
            form.reject(
                "discount_fen",
                "must not exceed min_spend_fen (unless min_spend_fen is 0)",
            );
        }
    }
    if let (Some(s), Some(e)) = (claim_starts_at, claim_ends_at) {
        if e <= s {
            form.reject("claim_ends_at", "must be after claim_starts_at");
        }
    }
    form.finish()?;
    let draft = BatchDraft {
        name: present(name)?,
        discount_fen: present(discount_fen)?,
        min_spend_fen: present(min_spend_fen)?,
        quantity: present(quantity)?,
        per_user_limit: present(per_user_limit)?,
        claim_starts_at: present(claim_starts_at)?,
        claim_ends_at: present(claim_ends_at)?,
        valid_days: present(valid_days)?,
    };
    let (actor, campaign_id) = (admin.0.id, id.into_inner());
    let batch = db::run(&state.pool, move |c| repo::create_batch(c, actor, campaign_id, &draft)).await?;
    Ok(HttpResponse::Created().json(BatchDto::from(batch)))
}

fn with_batches(conn: &mut DbConnection, row: CampaignRow) -> AppResult<CampaignDto> {
    let mut batches = repo::batches_of(conn, &[row.id])?;
    let own = batches.remove(&row.id).unwrap_or_default();
    Ok(CampaignDto::new(row, own))
}

fn page_with_batches(
    conn: &mut DbConnection,
    rows: Vec<CampaignRow>,
    page: PageRequest,
) -> AppResult<Page<CampaignDto>> {
    let ids: Vec<i64> = rows.iter().take(page.limit as usize).map(|r| r.id).collect();
    let mut batches = repo::batches_of(conn, &ids)?;
    Ok(page.page(
        rows,
        |r| r.id,
        |r| {
            let own = batches.remove(&r.id).unwrap_or_default();
            CampaignDto::new(r, own)
        },
    ))
}

/// `GET /admin/campaigns?status=`
pub async fn admin_list(state: web::Data<AppState>, _admin: AdminUser, query: QueryMap) -> AppResult<HttpResponse> {
    let mut query = QueryForm::new(query);
    let page = query.page();
    let status = query.choice("status", STATUSES);
    query.finish()?;
    let page = db::run(&state.pool, move |c| {
        let rows = repo::list(c, status.as_deref(), page)?;
        page_with_batches(c, rows, page)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// `GET /campaigns`: active campaigns with their batches, to anyone.
pub async fn public_list(state: web::Data<AppState>, query: QueryMap) -> AppResult<HttpResponse> {
    let mut query = QueryForm::new(query);
    let page = query.page();
    query.finish()?;
    let page = db::run(&state.pool, move |c| {
        let rows = repo::list(c, Some("active"), page)?;
        page_with_batches(c, rows, page)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// `GET /campaigns/{id}`: an active campaign to anyone; administrators see any.
pub async fn show(state: web::Data<AppState>, user: MaybeUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    let any_status = user.0.is_some_and(|u| u.is_admin());
    let id = id.into_inner();
    let dto = db::run(&state.pool, move |c| {
        let row = repo::find(c, id, any_status)?.ok_or_else(AppError::not_found)?;
        with_batches(c, row)
    })
    .await?;
    Ok(HttpResponse::Ok().json(dto))
}
