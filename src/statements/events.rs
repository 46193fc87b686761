//! The `statement.closed` webhook event and what it carries: API.md's Statement
//! object. The closing repo calls [`record_closed`] inside the day's transaction,
//! so the event commits or rolls back with the statement; keeping the DTO here
//! keeps the repo free of HTTP shapes (as `orders::events` does for orders).

use super::dto::StatementDto;
use super::models::StatementRow;
use crate::db::DbConnection;
use crate::webhooks::models::EventType;
use crate::webhooks::outbox;

/// Writes `statement.closed` about `statement` to its merchant's outbox.
pub fn record_closed(conn: &mut DbConnection, statement: StatementRow) -> diesel::QueryResult<()> {
    let merchant_id = statement.merchant_id;
    let data = serde_json::to_value(StatementDto::from(statement))
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    outbox::enqueue(conn, merchant_id, EventType::StatementClosed, data)
}
