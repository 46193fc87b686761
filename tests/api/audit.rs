//! The audit log: every merchant move with its reason, written in the same
//! transaction as the move, read back by admins newest first.

use diesel::prelude::*;
use serde_json::{json, Value};
use wenlv::db::schema::audit_log;

use crate::helpers::TestApp;
use crate::merchants_fixtures::ids;

#[tokio::test]
async fn every_move_is_audited_with_its_actor_and_reason() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.resident().await;
    let t = Some(admin.token.as_str());
    let a = app.approved_merchant(&admin, &owner, 1).await;
    app.suspend_merchant(&admin, a, "无证经营").await.expect(200, None);
    app.post(
        &format!("/admin/merchants/{a}/reinstate"),
        t,
        json!({"reason": "已补证"}),
    )
    .await
    .expect(200, None);
    let b = app.pending_merchant(&owner, 2).await;
    app.post(
        &format!("/admin/merchants/{b}/reject"),
        t,
        json!({"reason": "材料不全"}),
    )
    .await
    .expect(200, None);

    let log = app.walk("/admin/audit-log", t).await;
    let summary: Vec<(String, i64, Value)> = log
        .iter()
        .map(|r| {
            (
                r["action"].as_str().expect("action").to_owned(),
                r["target_id"].as_i64().expect("id"),
                r["reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("merchant.reject".to_owned(), b, json!("材料不全")),
            ("merchant.reinstate".to_owned(), a, json!("已补证")),
            ("merchant.suspend".to_owned(), a, json!("无证经营")),
            ("merchant.approve".to_owned(), a, Value::Null),
        ]
    );
    let first = &log[0];
    let mut keys: Vec<&str> = first.as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "action",
            "actor_id",
            "created_at",
            "id",
            "reason",
            "target_id",
            "target_type"
        ]
    );
    assert_eq!(first["actor_id"], admin.id);
    assert_eq!(first["target_type"], "merchant");
    assert!(first["created_at"].as_str().is_some_and(|s| s.ends_with('Z')));

    // Filters and pages.
    let of_a = app
        .walk(
            &format!("/admin/audit-log?target_type=merchant&target_id={a}&limit=1"),
            t,
        )
        .await;
    assert_eq!(of_a.len(), 3);
    assert!(of_a.iter().all(|r| r["target_id"] == a));
    let all_ids = ids(&log);
    assert!(all_ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    assert!(app.walk("/admin/audit-log?target_type=campaign", t).await.is_empty());
    assert!(app.walk("/admin/audit-log?target_id=999999", t).await.is_empty());
    for bad in ["target_type=bogus", "target_id=abc", "limit=0", "cursor=nope"] {
        app.get(&format!("/admin/audit-log?{bad}"), t)
            .await
            .expect(422, Some("validation_failed"));
    }
}

fn audit_rows(app: &TestApp) -> i64 {
    audit_log::table.count().get_result(&mut app.db()).expect("count")
}

#[tokio::test]
async fn a_move_that_does_not_happen_leaves_no_audit_row() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.resident().await;
    let t = Some(admin.token.as_str());
    let id = app.pending_merchant(&owner, 1).await;
    assert_eq!(audit_rows(&app), 0);
    // Illegal moves (409), unknown merchants (404) and bad bodies (422): no row.
    app.post(&format!("/admin/merchants/{id}/suspend"), t, json!({"reason": "r"}))
        .await
        .expect(409, Some("invalid_state"));
    app.post(&format!("/admin/merchants/{id}/reinstate"), t, json!({"reason": "r"}))
        .await
        .expect(409, Some("invalid_state"));
    app.action("/admin/merchants/999999/approve", t)
        .await
        .expect(404, Some("not_found"));
    app.post(&format!("/admin/merchants/{id}/reject"), t, json!({}))
        .await
        .expect(422, Some("validation_failed"));
    assert_eq!(audit_rows(&app), 0);

    // Racing rejections and approvals: one wins, one row.
    let approve = format!("/admin/merchants/{id}/approve");
    let reject = format!("/admin/merchants/{id}/reject");
    let (approve, reject, app_ref) = (&approve, &reject, &app);
    let attempts = (0..6).map(|i| async move {
        if i % 2 == 0 {
            app_ref.action(approve, t).await
        } else {
            app_ref.post(reject, t, json!({"reason": "r"})).await
        }
    });
    let results = futures_util::future::join_all(attempts).await;
    assert_eq!(results.iter().filter(|r| r.status == 200).count(), 1);
    assert!(results.iter().all(|r| r.status == 200 || r.status == 409));
    assert_eq!(audit_rows(&app), 1);
}
