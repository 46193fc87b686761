//! HTTP handlers of `/merchants/{id}/webhooks`: parse, call the repo, answer.

use actix_web::{web, HttpResponse};

use super::dto::{CreatedWebhookDto, DeliveryAttemptDto, WebhookDto};
use super::{repo, target};
use crate::auth::AuthUser;
use crate::db;
use crate::error::AppResult;
use crate::http::form::{present, string, Form, JsonBody};
use crate::http::query::{QueryForm, QueryMap};
use crate::http::Page;
use crate::state::AppState;

/// `POST /merchants/{id}/webhooks` `{url}` (the owner)
#[utoipa::path(post, path = "/api/v1/merchants/{id}/webhooks", tag = "webhooks", security(("bearer" = [])),
    request_body = super::dto::CreateWebhookRequest,
    params(("id" = i64, Path, description = "Merchant id")),
    responses((status = 201, description = "Registered; the signing secret is shown this once", body = CreatedWebhookDto),
              (status = 403, description = "forbidden: only the merchant's owner"),
              (status = 404, description = "not_found: no such merchant (or not visible)"),
              (status = 422, description = "validation_failed: url not https (or http to loopback where allowed)")))]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: JsonBody,
) -> AppResult<HttpResponse> {
    let merchant_id = path.into_inner();
    let allow_http_loopback = state.settings.webhooks.allow_http_loopback;
    let mut form = Form::new(body)?;
    let url = form.required("url", |v| target::check(string(v)?, allow_http_loopback));
    form.finish()?;
    let url = present(url)?;
    let caller = user.caller();
    let row = db::run(&state.pool, move |c| repo::create(c, merchant_id, caller, &url)).await?;
    Ok(HttpResponse::Created().json(CreatedWebhookDto::from(&row)))
}

/// `GET /merchants/{id}/webhooks` (members)
#[utoipa::path(get, path = "/api/v1/merchants/{id}/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Merchant id")),
    responses((status = 200, description = "The merchant's endpoints, oldest first, without secrets", body = crate::http::Page<WebhookDto>),
              (status = 403, description = "forbidden: not a member of this merchant"),
              (status = 404, description = "not_found: no such merchant (or not visible)")))]
pub async fn list(state: web::Data<AppState>, user: AuthUser, path: web::Path<i64>) -> AppResult<HttpResponse> {
    let merchant_id = path.into_inner();
    let caller = user.caller();
    let rows = db::run(&state.pool, move |c| repo::list(c, merchant_id, caller)).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: rows.iter().map(WebhookDto::from).collect::<Vec<_>>(),
        next_cursor: None,
    }))
}

/// `DELETE /merchants/{id}/webhooks/{webhook_id}` (the owner)
#[utoipa::path(delete, path = "/api/v1/merchants/{id}/webhooks/{webhook_id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Merchant id"), ("webhook_id" = i64, Path, description = "Endpoint id")),
    responses((status = 204, description = "Deleted: nothing more is sent to it"),
              (status = 403, description = "forbidden: only the merchant's owner"),
              (status = 404, description = "not_found: no such merchant or endpoint")))]
pub async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (merchant_id, webhook_id) = path.into_inner();
    let caller = user.caller();
    db::run(&state.pool, move |c| repo::delete(c, merchant_id, caller, webhook_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /merchants/{id}/webhooks/{webhook_id}/deliveries` (members)
#[utoipa::path(get, path = "/api/v1/merchants/{id}/webhooks/{webhook_id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Merchant id"), ("webhook_id" = i64, Path, description = "Endpoint id"),
           crate::http::PageParams),
    responses((status = 200, description = "Delivery attempts, newest first", body = crate::http::Page<DeliveryAttemptDto>),
              (status = 403, description = "forbidden: not a member of this merchant"),
              (status = 404, description = "not_found: no such merchant or endpoint")))]
pub async fn deliveries(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(i64, i64)>,
    query: QueryMap,
) -> AppResult<HttpResponse> {
    let (merchant_id, webhook_id) = path.into_inner();
    let mut form = QueryForm::new(query);
    let page = form.page();
    form.finish()?;
    let caller = user.caller();
    let rows = db::run(&state.pool, move |c| {
        repo::attempts(c, merchant_id, caller, webhook_id, page)
    })
    .await?;
    let page: Page<DeliveryAttemptDto> = page.page(rows, |a| a.attempt.id, DeliveryAttemptDto::from);
    Ok(HttpResponse::Ok().json(page))
}
