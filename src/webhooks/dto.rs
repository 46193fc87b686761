//! What the webhooks endpoints answer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::models::{EventType, WebhookRow};
use super::repo::LoggedAttempt;
use crate::time::utc;

/// A registered endpoint, as members see it (no secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDto {
    pub id: i64,
    pub merchant_id: i64,
    pub url: String,
    pub created_at: DateTime<Utc>,
}

impl From<&WebhookRow> for WebhookDto {
    fn from(row: &WebhookRow) -> Self {
        WebhookDto {
            id: row.id,
            merchant_id: row.merchant_id,
            url: row.url.clone(),
            created_at: utc(row.created_at),
        }
    }
}

/// The answer to registration: the endpoint and its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhookDto {
    pub id: i64,
    pub merchant_id: i64,
    pub url: String,
    /// Keep it: it signs every delivery (`Wenlv-Signature`) and is never shown again.
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

impl From<&WebhookRow> for CreatedWebhookDto {
    fn from(row: &WebhookRow) -> Self {
        CreatedWebhookDto {
            id: row.id,
            merchant_id: row.merchant_id,
            url: row.url.clone(),
            secret: row.secret.clone(),
            created_at: utc(row.created_at),
        }
    }
}

/// One attempt to deliver an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryAttemptDto {
    pub id: i64,
    /// The `Wenlv-Event-Id` sent.
    pub event_id: String,
    pub event_type: EventType,
    pub attempted_at: DateTime<Utc>,
    /// The receiver's HTTP status; null when no answer came.
    #[schema(required = true)]
    pub status_code: Option<i32>,
    /// Why no answer came (timeout, refused connection), else null.
    #[schema(required = true)]
    pub error: Option<String>,
    pub duration_ms: i64,
}

impl From<LoggedAttempt> for DeliveryAttemptDto {
    fn from(logged: LoggedAttempt) -> Self {
        DeliveryAttemptDto {
            id: logged.attempt.id,
            event_id: logged.event_public_id,
            event_type: logged.event_type,
            attempted_at: utc(logged.attempt.attempted_at),
            status_code: logged.attempt.status_code,
            error: logged.attempt.error,
            duration_ms: logged.attempt.duration_ms,
        }
    }
}

/// The body of `POST /merchants/{id}/webhooks`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// `https://…`, or `http://` to a loopback host where config allows it.
    pub url: String,
}
