//! Fixtures for the campaign and voucher tests: campaigns and batches made over
//! HTTP the way an admin console would, with sensible defaults to override.

use chrono::{Duration, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::helpers::{Actor, TestApp};

/// An RFC 3339 time `offset` from now.
pub fn at(offset: Duration) -> String {
    (Utc::now() + offset).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A valid campaign body running from an hour ago for 30 days.
pub fn campaign_body() -> Value {
    json!({
        "name": "2026 冬季文旅消费券",
        "budget_fen": 10_000_000,
        "target_leverage": 10,
        "starts_at": at(Duration::hours(-1)),
        "ends_at": at(Duration::days(30)),
    })
}

/// A valid batch body (spend 100 yuan, get 30 off) claimable inside that window.
pub fn batch_body(quantity: i64, per_user_limit: i64) -> Value {
    json!({
        "name": "满100减30",
        "discount_fen": 3000,
        "min_spend_fen": 10000,
        "quantity": quantity,
        "per_user_limit": per_user_limit,
        "claim_starts_at": at(Duration::minutes(-30)),
        "claim_ends_at": at(Duration::days(29)),
        "valid_days": 7,
    })
}

/// Merges `changes` into a JSON object (a `null` value removes the field).
pub fn with(mut body: Value, changes: Value) -> Value {
    if let (Some(target), Some(changes)) = (body.as_object_mut(), changes.as_object()) {
        for (k, v) in changes {
            if v.is_null() {
                target.remove(k);
            } else {
                target.insert(k.clone(), v.clone());
            }
        }
    }
    body
}

impl TestApp {
    /// Creates a draft campaign from `body`; returns its JSON.
    pub async fn draft_campaign(&self, admin: &Actor, body: Value) -> Value {
        self.post("/admin/campaigns", Some(&admin.token), body)
            .await
            .expect(201, None)
            .clone()
    }

    /// Creates and publishes a campaign from `body`; returns its id.
    pub async fn active_campaign(&self, admin: &Actor, body: Value) -> i64 {
        let id = self.draft_campaign(admin, body).await["id"].as_i64().expect("id");
        self.action(&format!("/admin/campaigns/{id}/publish"), Some(&admin.token))
            .await
            .expect(200, None);
        id
    }

    /// Creates a batch; returns its JSON.
    pub async fn batch(&self, admin: &Actor, campaign_id: i64, body: Value) -> Value {
        self.post(
            &format!("/admin/campaigns/{campaign_id}/batches"),
            Some(&admin.token),
            body,
        )
        .await
        .expect(201, None)
        .clone()
    }

    /// An active campaign (default body) with one batch; returns the batch id.
    pub async fn claimable_batch(&self, admin: &Actor, quantity: i64, per_user_limit: i64) -> i64 {
        let campaign = self.active_campaign(admin, campaign_body()).await;
        self.batch(admin, campaign, batch_body(quantity, per_user_limit)).await["id"]
            .as_i64()
            .expect("batch id")
    }

    pub async fn claim(&self, who: &Actor, batch_id: i64) -> crate::helpers::Resp {
        self.action(&format!("/batches/{batch_id}/claim"), Some(&who.token))
            .await
    }
}

/// Batch `batch` as `GET /campaigns/{campaign}` lists it.
pub async fn listed_batch(app: &TestApp, campaign: i64, batch: i64) -> Value {
    let body = app.get(&format!("/campaigns/{campaign}"), None).await.ok().clone();
    body["batches"]
        .as_array()
        .and_then(|all| all.iter().find(|b| b["id"] == json!(batch)).cloned())
        .expect("the batch is listed")
}
