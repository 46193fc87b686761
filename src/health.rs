//! `/healthz` (the process answers) and `/readyz` (the database answers too).

use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;
use serde_json::json;

use crate::db;
use crate::error::{AppError, Code};
use crate::state::AppState;

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "The process is up")))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "The database answers"), (status = 503, description = "service_unavailable: the database does not answer")))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    db::run(&state.pool, |c| Ok(c.batch_execute("SELECT 1")?))
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "database not ready");
            AppError::new(Code::ServiceUnavailable, "the database does not answer")
        })?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}
