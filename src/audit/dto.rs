//! What `GET /admin/audit-log` answers.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::models::{AuditRow, AuditTarget};
use crate::time::utc;

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditDto {
    pub id: i64,
    pub actor_id: i64,
    /// `<target_type>.<verb>`, such as `merchant.approve` or `batch.create`.
    #[schema(pattern = "^(merchant|campaign|batch)\\.[a-z_]+$", example = "merchant.approve")]
    pub action: String,
    pub target_type: AuditTarget,
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
