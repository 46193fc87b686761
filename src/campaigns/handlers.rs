//! HTTP handlers of `/admin/campaigns*`, `/campaigns*`: parse, call the repo, answer.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use serde_json::Value;

use super::dto::{BatchDto, CampaignDto};
use super::models::{Allocation, BatchRow, CampaignRow, CampaignStatus};
use super::repo::{self, BatchDraft, CampaignDraft, Move};
use crate::auth::{AdminUser, MaybeUser};
use crate::db::{self, DbConnection};
use crate::domain::Category;
use crate::error::{AppError, AppResult};
use crate::http::form::{
    boolean, choice, choice_list, integer_in, number, present, text, timestamp, vocabulary_list, Form, JsonBody,
};
use crate::http::query::{QueryForm, QueryMap};
use crate::http::{Page, PageParams, PageRequest};
use crate::state::AppState;
use crate::vouchers::daily;
use crate::vouchers::usable::{self, UsableWindow};

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
#[utoipa::path(post, path = "/api/v1/admin/campaigns", tag = "campaigns", security(("bearer" = [])),
    request_body = super::dto::NewCampaignRequest,
    responses((status = 201, description = "The campaign, `status: draft`", body = CampaignDto),
              (status = 403, description = "forbidden: administrators only")))]
pub async fn create(state: web::Data<AppState>, admin: AdminUser, body: JsonBody) -> AppResult<HttpResponse> {
    let districts = state.settings.platform.districts();
    let mut form = Form::new(body)?;
    let name = form.required("name", |v| text(v, 1, 100));
    let description = form.optional("description", |v| text(v, 0, 2000));
    let budget_fen = form.required("budget_fen", |v| integer_in(v, 1, MAX_BUDGET_FEN));
    let target_leverage = form.required("target_leverage", leverage);
    let starts_at = form.required("starts_at", timestamp);
    let ends_at = form.required("ends_at", timestamp);
    let categories = form.optional("eligible_categories", |v| {
        vocabulary_list::<Category>(v, Category::NAMES)
    });
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
    Ok(HttpResponse::Created().json(CampaignDto::new(row, Vec::new(), &HashMap::new())))
}

async fn move_campaign(state: &AppState, admin: AdminUser, id: i64, step: Move) -> AppResult<HttpResponse> {
    let (actor, day) = (admin.0.id, today(state));
    let dto = db::run(&state.pool, move |c| {
        let row = repo::transition(c, actor, id, step)?;
        with_batches(c, row, &day)
    })
    .await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// `POST /admin/campaigns/{id}/publish`
#[utoipa::path(post, path = "/api/v1/admin/campaigns/{id}/publish", tag = "campaigns", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, description = "The campaign, `status: active`, with its batches", body = CampaignDto),
              (status = 403, description = "forbidden: administrators only"),
              (status = 409, description = "invalid_state: the campaign is not draft")))]
pub async fn publish(state: web::Data<AppState>, admin: AdminUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    move_campaign(&state, admin, id.into_inner(), Move::Publish).await
}

/// `POST /admin/campaigns/{id}/pause`
#[utoipa::path(post, path = "/api/v1/admin/campaigns/{id}/pause", tag = "campaigns", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, description = "The campaign, `status: paused`, with its batches", body = CampaignDto),
              (status = 403, description = "forbidden: administrators only"),
              (status = 409, description = "invalid_state: the campaign is not active")))]
pub async fn pause(state: web::Data<AppState>, admin: AdminUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    move_campaign(&state, admin, id.into_inner(), Move::Pause).await
}

/// `POST /admin/campaigns/{id}/resume`
#[utoipa::path(post, path = "/api/v1/admin/campaigns/{id}/resume", tag = "campaigns", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, description = "The campaign, `status: active`, with its batches", body = CampaignDto),
              (status = 403, description = "forbidden: administrators only"),
              (status = 409, description = "invalid_state: the campaign is not paused")))]
pub async fn resume(state: web::Data<AppState>, admin: AdminUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    move_campaign(&state, admin, id.into_inner(), Move::Resume).await
}

/// `POST /admin/campaigns/{id}/end`
#[utoipa::path(post, path = "/api/v1/admin/campaigns/{id}/end", tag = "campaigns", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, description = "The campaign, `status: ended`, with its batches", body = CampaignDto),
              (status = 403, description = "forbidden: administrators only"),
              (status = 409, description = "invalid_state: the campaign is not draft, active or paused")))]
pub async fn end(state: web::Data<AppState>, admin: AdminUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    move_campaign(&state, admin, id.into_inner(), Move::End).await
}

/// `POST /admin/campaigns/{id}/batches`
#[utoipa::path(post, path = "/api/v1/admin/campaigns/{id}/batches", tag = "campaigns", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")), request_body = super::dto::NewBatchRequest,
    responses((status = 201, description = "The batch; its face value is reserved from the budget", body = BatchDto),
              (status = 403, description = "forbidden: administrators only"),
              (status = 409, description = "invalid_state: the campaign has ended"),
              (status = 422, description = "budget_exceeded: the face value exceeds the unreserved budget; or validation_failed (a lottery batch's per_user_limit must be 1 and it takes no daily_quantity)")))]
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
    let allocation = form.optional("allocation", |v| choice(v, Allocation::NAMES));
    let daily_quantity = form.optional("daily_quantity", |v| integer_in(v, 1, 10_000_000));
    let usable_weekdays = form.optional("usable_weekdays", usable::parse_weekdays);
    let usable_hours = form.optional("usable_hours", usable::parse_hours);
    let allocation = allocation.map(|a| a.and_then(|a| Allocation::parse(&a)).unwrap_or(Allocation::FirstCome));
    if allocation == Some(Allocation::Lottery) {
        if per_user_limit.is_some_and(|limit| limit != 1) {
            form.reject("per_user_limit", "must be 1 for a lottery batch");
        }
        if daily_quantity.is_some_and(|cap| cap.is_some()) {
            form.reject("daily_quantity", "applies to first_come batches only");
        }
    }
    if let (Some(Some(cap)), Some(q)) = (daily_quantity, quantity) {
        if cap > q {
            form.reject("daily_quantity", "must not exceed quantity");
        }
    }
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
        allocation: present(allocation)?,
        daily_quantity: present(daily_quantity)?,
        usable: UsableWindow::new(present(usable_weekdays)?.unwrap_or_default(), present(usable_hours)?),
    };
    let (actor, campaign_id) = (admin.0.id, id.into_inner());
    let shards = state.settings.claims.stock_shards_on(state.settings.database.engine());
    let batch = db::run(&state.pool, move |c| {
        repo::create_batch(c, actor, campaign_id, &draft, shards)
    })
    .await?;
    Ok(HttpResponse::Created().json(BatchDto::new(batch, 0)))
}

/// Today's claims of the capped batches among `batches`, on the platform-local `day`.
fn claimed_today(
    conn: &mut DbConnection,
    batches: &HashMap<i64, Vec<BatchRow>>,
    day: &str,
) -> AppResult<HashMap<i64, i64>> {
    let capped: Vec<i64> = batches
        .values()
        .flatten()
        .filter(|b| b.daily_quantity.is_some())
        .map(|b| b.id)
        .collect();
    Ok(daily::claimed_on_many(conn, &capped, day)?)
}

fn with_batches(conn: &mut DbConnection, row: CampaignRow, day: &str) -> AppResult<CampaignDto> {
    let mut batches = repo::batches_of(conn, &[row.id])?;
    let today = claimed_today(conn, &batches, day)?;
    let own = batches.remove(&row.id).unwrap_or_default();
    Ok(CampaignDto::new(row, own, &today))
}

fn page_with_batches(
    conn: &mut DbConnection,
    rows: Vec<CampaignRow>,
    page: PageRequest,
    day: &str,
) -> AppResult<Page<CampaignDto>> {
    let ids: Vec<i64> = rows.iter().take(page.limit as usize).map(|r| r.id).collect();
    let mut batches = repo::batches_of(conn, &ids)?;
    let today = claimed_today(conn, &batches, day)?;
    Ok(page.page(
        rows,
        |r| r.id,
        |r| {
            let own = batches.remove(&r.id).unwrap_or_default();
            CampaignDto::new(r, own, &today)
        },
    ))
}

/// The platform-local day on this instance's clock.
fn today(state: &AppState) -> String {
    state.clock.day_of(state.clock.now())
}

/// `GET /admin/campaigns?status=`
#[utoipa::path(get, path = "/api/v1/admin/campaigns", tag = "campaigns", security(("bearer" = [])),
    params(PageParams, ("status" = Option<CampaignStatus>, Query, description = "Only this status")),
    responses((status = 200, description = "Campaigns with their batches, newest first", body = crate::http::Page<CampaignDto>),
              (status = 403, description = "forbidden: administrators only")))]
pub async fn admin_list(state: web::Data<AppState>, _admin: AdminUser, query: QueryMap) -> AppResult<HttpResponse> {
    let mut query = QueryForm::new(query);
    let page = query.page();
    let status = query.one_of("status", CampaignStatus::NAMES);
    query.finish()?;
    let day = today(&state);
    let page = db::run(&state.pool, move |c| {
        let rows = repo::list(c, status, page)?;
        page_with_batches(c, rows, page, &day)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// `GET /campaigns`: active campaigns with their batches, to anyone.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns",
    params(PageParams),
    responses((status = 200, description = "Active campaigns with their batches, newest first", body = crate::http::Page<CampaignDto>)))]
pub async fn public_list(state: web::Data<AppState>, query: QueryMap) -> AppResult<HttpResponse> {
    let mut query = QueryForm::new(query);
    let page = query.page();
    query.finish()?;
    let day = today(&state);
    let page = db::run(&state.pool, move |c| {
        let rows = repo::list(c, Some(CampaignStatus::Active), page)?;
        page_with_batches(c, rows, page, &day)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// `GET /campaigns/{id}`: an active campaign to anyone; administrators see any.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns", security((), ("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, description = "An active campaign with its batches (administrators: any status)", body = CampaignDto)))]
pub async fn show(state: web::Data<AppState>, user: MaybeUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    let any_status = user.0.is_some_and(|u| u.is_admin());
    let (id, day) = (id.into_inner(), today(&state));
    let dto = db::run(&state.pool, move |c| {
        let row = repo::find(c, id, any_status)?.ok_or_else(AppError::not_found)?;
        with_batches(c, row, &day)
    })
    .await?;
    Ok(HttpResponse::Ok().json(dto))
}
