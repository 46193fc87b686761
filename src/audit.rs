//! The audit log: every admin action and every merchant status change, written in
//! the same transaction as the change itself, so a change that rolls back leaves
//! no audit row and a committed change always has one.

use diesel::prelude::*;

use crate::db::schema::audit_log;
use crate::db::DbConnection;
use crate::time::now;

/// What an audit row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Merchant,
    Campaign,
    Batch,
}

impl Target {
    pub const ALL: [&'static str; 3] = ["merchant", "campaign", "batch"];

    pub fn as_str(self) -> &'static str {
        match self {
            Target::Merchant => "merchant",
            Target::Campaign => "campaign",
            Target::Batch => "batch",
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
