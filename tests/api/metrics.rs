//! `/metrics`: Prometheus text whose series move with traffic. The recorder is
//! process-wide, so tests compare values before and after their own requests.

use crate::helpers::TestApp;

/// The sum of every sample of `name` whose labels contain all of `labels`.
pub fn metric(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} ")))
        .filter(|line| labels.iter().all(|l| line.contains(l)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub async fn scrape(app: &TestApp) -> String {
    let resp = app.get("/metrics", None).await;
    assert_eq!(resp.status, 200);
    assert!(resp.content_type().starts_with("text/plain"));
    resp.text
}

#[tokio::test]
async fn requests_are_counted_by_route_template_and_status() {
    let app = TestApp::spawn().await;
    let before = scrape(&app).await;
    let alice = app.resident().await;
    app.get("/me", Some(&alice.token)).await;
    app.get("/me", None).await;
    let after = scrape(&app).await;
    let me_ok = ["route=\"/api/v1/me\"", "status=\"200\""];
    let me_401 = ["route=\"/api/v1/me\"", "status=\"401\""];
    assert!(metric(&after, "http_requests_total", &me_ok) >= metric(&before, "http_requests_total", &me_ok) + 1.0);
    assert!(metric(&after, "http_requests_total", &me_401) >= metric(&before, "http_requests_total", &me_401) + 1.0);
    assert!(metric(&after, "http_request_duration_seconds_count", &["route=\"/api/v1/me\""]) >= 2.0);
    assert!(after.contains("db_pool_connections"));
    assert!(after.contains("db_pool_in_use_connections"));
    assert!(metric(&after, "db_pool_max_connections", &[]) >= 1.0);
    assert!(after.contains("db_pool_wait_seconds"));
}

#[tokio::test]
async fn rate_limit_rejections_are_counted() {
    let app = TestApp::spawn_with(|s| s.rate_limit.login_per_minute_per_ip = 1).await;
    let before = metric(&scrape(&app).await, "rate_limited_total", &["endpoint=\"login\""]);
    app.login("13800138000", "whatever-password").await.expect(401, None);
    app.login("13800138000", "whatever-password")
        .await
        .expect(429, Some("rate_limited"));
    let after = metric(&scrape(&app).await, "rate_limited_total", &["endpoint=\"login\""]);
    assert!(after >= before + 1.0, "{before} -> {after}");
}

#[tokio::test]
async fn claims_and_order_transitions_are_counted() {
    use crate::campaigns_fixtures::campaign_body;
    use crate::merchants_fixtures::application;
    use serde_json::json;

    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.resident().await;
    let merchant = app.approved_merchant_with(&admin, &owner, application(1)).await;
    let offer = app
        .offer_with(&owner, merchant, json!({"title": "票", "price_fen": 15_000}))
        .await["id"]
        .as_i64()
        .expect("offer");
    let campaign = app.active_campaign(&admin, campaign_body()).await;
    let batch = app
        .batch(&admin, campaign, crate::campaigns_fixtures::batch_body(10, 1))
        .await["id"]
        .as_i64()
        .expect("batch");
    let buyer = app.resident().await;

    let before = scrape(&app).await;
    let voucher = app.claim(&buyer, batch).await.expect(201, None)["id"]
        .as_i64()
        .expect("voucher");
    let body = json!({"offer_id": offer, "quantity": 1, "voucher_id": voucher});
    let order = app.post("/orders", Some(&buyer.token), body).await.expect(201, None)["id"]
        .as_i64()
        .expect("order");
    app.action(&format!("/orders/{order}/pay"), Some(&buyer.token))
        .await
        .expect(200, None);
    let after = scrape(&app).await;

    let moved = |name: &str, labels: &[&str]| metric(&after, name, labels) - metric(&before, name, labels);
    assert!(moved("vouchers_claimed_total", &[]) >= 1.0);
    assert!(moved("order_transitions_total", &["to=\"pending_payment\""]) >= 1.0);
    assert!(moved("order_transitions_total", &["to=\"paid\""]) >= 1.0);
    assert!(
        moved(
            "http_requests_total",
            &["route=\"/api/v1/batches/{id}/claim\"", "status=\"201\""]
        ) >= 1.0
    );
}

#[tokio::test]
async fn extension_methods_do_not_mint_series() {
    let app = TestApp::spawn().await;
    let method = reqwest::Method::from_bytes(b"AAAA1").expect("method");
    app.send(app.client.request(method, app.url("/healthz"))).await;
    let text = scrape(&app).await;
    assert!(!text.contains("method=\"AAAA1\""), "an extension method is not a label");
    assert!(metric(&text, "http_requests_total", &["method=\"other\""]) >= 1.0);
}

#[tokio::test]
async fn a_configured_bearer_token_protects_metrics() {
    let app = TestApp::spawn_with(|s| s.metrics.bearer_token = Some("scrape-secret-0123456789".into())).await;
    app.get("/metrics", None).await.expect(401, Some("unauthorized"));
    app.get("/metrics", Some("wrong"))
        .await
        .expect(401, Some("unauthorized"));
    let resp = app.get("/metrics", Some("scrape-secret-0123456789")).await;
    assert_eq!(resp.status, 200);
    assert!(resp.text.contains("http_requests_total"));
}
