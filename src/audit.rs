//! The audit log: every admin action and every merchant status change, written in
//! the same transaction as the change itself, so a change that rolls back leaves
//! no audit row and a committed change always has one. Admins read it with
//! `GET /admin/audit-log` ([`list_handler`]), newest first.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::AdminUser;
use crate::db::schema::audit_log;
use crate::db::{self, DbConnection};
use crate::error::AppResult;
use crate::http::query::{QueryForm, QueryMap};
use crate::http::PageRequest;
use crate::time::{now, utc};

/// What an audit row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Merchant,
    Campaign,
    Batch,
    Order,
    Statement,
}

impl Target {
    pub const ALL: [&'static str; 5] = ["merchant", "campaign", "batch", "order", "statement"];

    pub fn as_str(self) -> &'static str {
        match self {
            Target::Merchant => "merchant",
            Target::Campaign => "campaign",
            Target::Batch => "batch",
            Target::Order => "order",
            Target::Statement => "statement",
        }
    }
}

/// Records `<target>.<verb>` by `actor_id` on `target_id`. Call it inside the
/// transaction that makes the change.
pub fn record(
    conn: &mut DbConnection,
    actor_id: i64,
    target: Target,
    verb: &str,
    target_id: i64,
    reason: Option<&str>,
) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::actor_id.eq(actor_id),
            audit_log::action.eq(format!("{}.{verb}", target.as_str())),
            audit_log::target_type.eq(target.as_str()),
            audit_log::target_id.eq(target_id),
            audit_log::reason.eq(reason),
            audit_log::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable)]
pub struct AuditRow {
    pub id: i64,
    pub actor_id: i64,
    pub action: String,
    pub target_type: String,
    pub target_id: i64,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditDto {
    pub id: i64,
    pub actor_id: i64,
    /// `<target_type>.<verb>`, such as `merchant.approve` or `batch.create`.
    #[schema(
        pattern = "^(merchant|campaign|batch|order|statement)\\.[a-z_]+$",
        example = "merchant.approve"
    )]
    pub action: String,
    #[schema(value_type = crate::openapi::AuditTarget)]
    pub target_type: String,
    pub target_id: i64,
    #[schema(required = true)]
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<AuditRow> for AuditDto {
    fn from(row: AuditRow) -> Self {
        AuditDto {
            id: row.id,
            actor_id: row.actor_id,
            action: row.action,
            target_type: row.target_type,
            target_id: row.target_id,
            reason: row.reason,
            created_at: utc(row.created_at),
        }
    }
}

/// Audit rows, newest first, optionally about one target type and/or one target id.
pub fn list(
    conn: &mut DbConnection,
    target_type: Option<&str>,
    target_id: Option<i64>,
    page: PageRequest,
) -> QueryResult<Vec<AuditRow>> {
    let mut query = audit_log::table.into_boxed();
    if let Some(t) = target_type {
        query = query.filter(audit_log::target_type.eq(t.to_owned()));
    }
    if let Some(id) = target_id {
        query = query.filter(audit_log::target_id.eq(id));
    }
    if let Some(after) = page.after {
        query = query.filter(audit_log::id.lt(after));
    }
    query.order(audit_log::id.desc()).limit(page.fetch()).load(conn)
}

/// `GET /admin/audit-log?target_type=&target_id=`
#[utoipa::path(get, path = "/api/v1/admin/audit-log", tag = "audit", security(("bearer" = [])),
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size (default 20)"),
           ("cursor" = Option<String>, Query, pattern = "^[A-Za-z0-9_-]+$", description = "`next_cursor` of the previous page (opaque)"),
           ("target_type" = Option<crate::openapi::AuditTarget>, Query, description = "Only rows about this kind of object"),
           ("target_id" = Option<i64>, Query, description = "Only rows about this object id")),
    responses((status = 200, description = "Audit rows, newest first", body = crate::http::Page<AuditDto>),
              (status = 403, description = "forbidden: administrators only")))]
pub async fn list_handler(
    state: web::Data<crate::state::AppState>,
    _admin: AdminUser,
    query: QueryMap,
) -> AppResult<HttpResponse> {
    let mut form = QueryForm::new(query);
    let page = form.page();
    let target_type = form.choice("target_type", &Target::ALL);
    let target_id = form.integer("target_id");
    form.finish()?;
    let rows = db::run(&state.pool, move |c| {
        Ok(list(c, target_type.as_deref(), target_id, page)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |r| r.id, AuditDto::from)))
}
