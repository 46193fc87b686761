//! The audit log in the database: writing a row (inside the caller's transaction)
//! and the admin's list.

use diesel::prelude::*;

use super::models::{AuditRow, AuditTarget};
use crate::db::schema::audit_log;
use crate::db::DbConnection;
use crate::http::PageRequest;
use crate::time::now;

/// Records `<target>.<verb>` by `actor_id` on `target_id`. Call it inside the
/// transaction that makes the change.
pub fn record(
    conn: &mut DbConnection,
    actor_id: i64,
    target: AuditTarget,
    verb: &str,
    target_id: i64,
    reason: Option<&str>,
) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::actor_id.eq(actor_id),
            audit_log::action.eq(format!("{target}.{verb}")),
            audit_log::target_type.eq(target),
            audit_log::target_id.eq(target_id),
            audit_log::reason.eq(reason),
            audit_log::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Audit rows, newest first, optionally about one target type and/or one target id.
pub fn list(
    conn: &mut DbConnection,
    target_type: Option<AuditTarget>,
    target_id: Option<i64>,
    page: PageRequest,
) -> QueryResult<Vec<AuditRow>> {
    let mut query = audit_log::table.into_boxed();
    if let Some(t) = target_type {
        query = query.filter(audit_log::target_type.eq(t));
    }
    if let Some(id) = target_id {
        query = query.filter(audit_log::target_id.eq(id));
    }
    if let Some(after) = page.after {
        query = query.filter(audit_log::id.lt(after));
    }
    query.order(audit_log::id.desc()).limit(page.fetch()).load(conn)
}
