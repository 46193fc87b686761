//! Reports: who may read them, and their shape on an empty platform. The figures
//! themselves are checked against independently computed sums in
//! `report_figures.rs`, once orders exist.

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn reports_are_for_administrators_only() {
    let app = TestApp::spawn().await;
    let resident = app.resident().await;
    for path in [
        "/admin/overview",
        "/admin/settlements",
        "/admin/campaigns/1/report",
        "/admin/campaigns/1/report.csv",
    ] {
        app.get(path, Some(&resident.token))
            .await
            .expect(403, Some("forbidden"));
        app.get(path, None).await.expect(401, Some("unauthorized"));
    }
}

#[tokio::test]
async fn an_empty_platform_has_zero_totals_and_no_ratio() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.resident().await;
    let overview = app.get("/admin/overview", Some(&admin.token)).await;
    let body = overview.expect(200, None);
    assert_eq!(body["users"], 2);
    assert_eq!(
        body["merchants"],
        json!({"approved": 0, "pending": 0, "rejected": 0, "suspended": 0})
    );
    assert_eq!(body["orders"], 0);
    assert_eq!(body["consumption_fen"], 0);
    assert_eq!(body["subsidy_fen"], 0);
    assert_eq!(body["leverage"], json!(null));
    let settlements = app.get("/admin/settlements", Some(&admin.token)).await;
    assert_eq!(
        settlements.expect(200, None),
        &json!({"items": [], "total_subsidy_fen": 0})
    );
}

#[tokio::test]
async fn an_unknown_campaign_has_no_report() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.get("/admin/campaigns/999/report", Some(&admin.token))
        .await
        .expect(404, Some("not_found"));
    app.get("/admin/campaigns/999/report.csv", Some(&admin.token))
        .await
        .expect(404, Some("not_found"));
    app.get("/admin/campaigns/abc/report", Some(&admin.token))
        .await
        .expect(404, Some("not_found"));
    app.get("/admin/settlements?campaign_id=999", Some(&admin.token))
        .await
        .expect(404, Some("not_found"));
}

#[tokio::test]
async fn settlement_parameters_are_validated() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for (query, field) in [
        ("campaign_id=abc", "campaign_id"),
        ("from=yesterday", "from"),
        ("to=2026-13-01T00:00:00Z", "to"),
        ("from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", "to"),
    ] {
        let resp = app
            .get(&format!("/admin/settlements?{query}"), Some(&admin.token))
            .await;
        resp.expect(422, Some("validation_failed"));
        assert_eq!(resp.error_fields(), [field], "{query}");
    }
    app.get("/admin/settlements?unknown=1", Some(&admin.token))
        .await
        .expect(200, None);
}
