//! `/healthz` (the process answers) and `/readyz` (this instance should be sent
//! traffic: it is not shutting down and the database answers).
//!
//! A load balancer checks `/readyz`: it turns 503 the moment a graceful shutdown
//! begins (so the instance is drained before it stops accepting) and while the
//! database is unreachable, and 200 again by itself once the pool reconnects.

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
    responses((status = 200, description = "The database answers"), (status = 503, description = "service_unavailable: the instance is shutting down or the database does not answer")))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    if state.is_shutting_down() {
        return Err(AppError::new(Code::ServiceUnavailable, "the instance is shutting down"));
    }
    db::run(&state.pool, |c| Ok(c.batch_execute("SELECT 1")?))
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "database not ready");
            AppError::new(Code::ServiceUnavailable, "the database does not answer")
        })?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}
