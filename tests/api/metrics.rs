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
