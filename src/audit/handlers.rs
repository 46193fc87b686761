//! HTTP handler of `GET /admin/audit-log`: parse, call, answer.

use actix_web::{web, HttpResponse};

use super::dto::AuditDto;
use super::models::AuditTarget;
use super::repo;
use crate::auth::AdminUser;
use crate::db;
use crate::error::AppResult;
use crate::http::query::{QueryForm, QueryMap};
use crate::state::AppState;

/// `GET /admin/audit-log?target_type=&target_id=`
#[utoipa::path(get, path = "/api/v1/admin/audit-log", tag = "audit", security(("bearer" = [])),
    params(crate::http::PageParams,
           ("target_type" = Option<AuditTarget>, Query, description = "Only rows about this kind of object"),
           ("target_id" = Option<i64>, Query, description = "Only rows about this object id")),
    responses((status = 200, description = "Audit rows, newest first", body = crate::http::Page<AuditDto>),
              (status = 403, description = "forbidden: administrators only")))]
pub async fn list(state: web::Data<AppState>, _admin: AdminUser, query: QueryMap) -> AppResult<HttpResponse> {
    let mut form = QueryForm::new(query);
    let page = form.page();
    let target_type = form
        .choice("target_type", AuditTarget::NAMES)
        .and_then(|t| AuditTarget::parse(&t));
    let target_id = form.integer("target_id");
    form.finish()?;
    let rows = db::run(&state.pool, move |c| Ok(repo::list(c, target_type, target_id, page)?)).await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |r| r.id, AuditDto::from)))
}
