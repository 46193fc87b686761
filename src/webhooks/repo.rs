//! Endpoints of a merchant and their delivery log. The owner registers and
//! deletes endpoints; members list them (never the secret) and read the log.
//! Authorization is the merchants feature's: a merchant the caller cannot see is
//! 404, one they see but are not owner (or member) of is 403.

use diesel::prelude::*;

use super::models::{AttemptRow, DeliveryStatus, EventType, NewWebhook, WebhookRow};
use super::signature::new_secret;
use crate::db::schema::{webhook_attempts, webhook_deliveries, webhook_events, webhooks};
use crate::db::{write_tx, DbConnection};
use crate::domain::Caller;
use crate::error::{AppError, AppResult};
use crate::http::PageRequest;
use crate::merchants::access;
use crate::time::now;

/// Registers `url` (already checked) for the merchant; the row holds the new secret.
pub fn create(conn: &mut DbConnection, merchant_id: i64, caller: Caller, url: &str) -> AppResult<WebhookRow> {
    write_tx(conn, |c| {
        let (_, relation) = access::visible_merchant(c, merchant_id, Some(caller))?;
        relation.require_owner()?;
        let secret = new_secret();
        let row = diesel::insert_into(webhooks::table)
            .values(NewWebhook {
                merchant_id,
                url,
                secret: &secret,
                created_at: now(),
            })
            .returning(webhooks::all_columns)
            .get_result(c)?;
        Ok(row)
    })
}

/// The merchant's live endpoints, oldest first (members).
pub fn list(conn: &mut DbConnection, merchant_id: i64, caller: Caller) -> AppResult<Vec<WebhookRow>> {
    let (_, relation) = access::visible_merchant(conn, merchant_id, Some(caller))?;
    relation.require_member()?;
    Ok(webhooks::table
        .filter(webhooks::merchant_id.eq(merchant_id))
        .filter(webhooks::deleted_at.is_null())
        .order(webhooks::id.asc())
        .select(webhooks::all_columns)
        .load(conn)?)
}

/// Deletes an endpoint (the owner): nothing more is sent to it; its log stays.
pub fn delete(conn: &mut DbConnection, merchant_id: i64, caller: Caller, webhook_id: i64) -> AppResult<()> {
    write_tx(conn, |c| {
        let (_, relation) = access::visible_merchant(c, merchant_id, Some(caller))?;
        relation.require_owner()?;
        let at = now();
        let deleted = diesel::update(
            webhooks::table
                .filter(webhooks::id.eq(webhook_id))
                .filter(webhooks::merchant_id.eq(merchant_id))
                .filter(webhooks::deleted_at.is_null()),
        )
        .set(webhooks::deleted_at.eq(at))
        .execute(c)?;
        if deleted == 0 {
            return Err(AppError::not_found());
        }
        diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::webhook_id.eq(webhook_id))
                .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending)),
        )
        .set(webhook_deliveries::status.eq(DeliveryStatus::Abandoned))
        .execute(c)?;
        Ok(())
    })
}

/// One logged attempt with the event it carried.
pub struct LoggedAttempt {
    pub attempt: AttemptRow,
    pub event_public_id: String,
    pub event_type: EventType,
}

/// An endpoint's attempts, newest first (members). A deleted endpoint of this
/// merchant still shows its log.
pub fn attempts(
    conn: &mut DbConnection,
    merchant_id: i64,
    caller: Caller,
    webhook_id: i64,
    page: PageRequest,
) -> AppResult<Vec<LoggedAttempt>> {
    let (_, relation) = access::visible_merchant(conn, merchant_id, Some(caller))?;
    relation.require_member()?;
    let exists: Option<i64> = webhooks::table
        .filter(webhooks::id.eq(webhook_id))
        .filter(webhooks::merchant_id.eq(merchant_id))
        .select(webhooks::id)
        .first(conn)
        .optional()?;
    if exists.is_none() {
        return Err(AppError::not_found());
    }
    let mut query = webhook_attempts::table
        .inner_join(webhook_events::table)
        .filter(webhook_attempts::webhook_id.eq(webhook_id))
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(webhook_attempts::id.lt(after));
    }
    let rows: Vec<(AttemptRow, String, String)> = query
        .order(webhook_attempts::id.desc())
        .limit(page.fetch())
        .select((
            webhook_attempts::all_columns,
            webhook_events::public_id,
            webhook_events::event_type,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(attempt, event_public_id, event_type)| {
            Ok(LoggedAttempt {
                attempt,
                event_public_id,
                event_type: EventType::try_from(event_type)?,
            })
        })
        .collect()
}
