//! What an audit row is about, and the row as read from `audit_log`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

crate::text_enum! {
    /// What an audit row is about.
    pub enum AuditTarget {
        Merchant = "merchant",
        Campaign = "campaign",
        Batch = "batch",
        User = "user",
        /// An order an admin reversed (`order.reverse`).
        Order = "order",
        /// A merchant's daily statement (`statement.hold`, `.release`, `.approve`, `.paid`).
        Statement = "statement",
    }
}

#[derive(Debug, Clone, Queryable)]
pub struct AuditRow {
    pub id: i64,
    pub actor_id: i64,
    /// `<target_type>.<verb>`.
    pub action: String,
    #[diesel(deserialize_as = String)]
    pub target_type: AuditTarget,
    pub target_id: i64,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
}
