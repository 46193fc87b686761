//! Stock hoarding (issue 13): a resident's unpaid orders are capped, order creation
//! is rate-limited per resident, and an order past its payment window cannot be
//! paid even when no sweeper runs: paying it cancels it, stock and voucher back.

use crate::helpers::TestApp;

#[tokio::test]
async fn a_resident_holds_at_most_the_configured_unpaid_orders() {
    let app = TestApp::spawn_with(|s| s.orders.max_unpaid_per_resident = 2).await;
    let shop = app.shop(Some(10)).await;
    let (buyer, _) = app.buyer(&shop).await;
    let first = app.order_id(&buyer.token, shop.offer_id, 1, None).await;
    app.order_id(&buyer.token, shop.offer_id, 1, None).await;
    let refused = app.order(&buyer.token, shop.offer_id, 1, None).await;
    refused.expect(409, Some("invalid_state"));
    assert_eq!(
        app.offer_stock(shop.offer_id),
        Some(8),
        "the refused order took nothing"
    );
    // Another resident is not affected; paying one frees a slot.
    let (other, _) = app.buyer(&shop).await;
    app.order_id(&other.token, shop.offer_id, 1, None).await;
    app.action(&format!("/orders/{first}/pay"), Some(&buyer.token))
        .await
        .expect(200, None);
    app.order_id(&buyer.token, shop.offer_id, 1, None).await;
}

#[tokio::test]
async fn order_creation_is_rate_limited_per_resident() {
    let app = TestApp::spawn_with(|s| s.rate_limit.orders_per_minute_per_resident = 2).await;
    let shop = app.shop(None).await;
    let (buyer, _) = app.buyer(&shop).await;
    for _ in 0..2 {
        app.order_id(&buyer.token, shop.offer_id, 1, None).await;
    }
    let limited = app.order(&buyer.token, shop.offer_id, 1, None).await;
    limited.expect(429, Some("rate_limited"));
    let retry_after: u64 = limited
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry_after));
    let (other, _) = app.buyer(&shop).await;
    app.order_id(&other.token, shop.offer_id, 1, None).await;
}

#[tokio::test]
async fn paying_an_overdue_order_cancels_it_without_a_sweeper() {
    let app = TestApp::spawn_with(|s| s.orders.sweep_interval_seconds = 0).await;
    let shop = app.shop(Some(5)).await;
    let (buyer, voucher) = app.buyer(&shop).await;
    let id = app.order_id(&buyer.token, shop.offer_id, 2, Some(voucher)).await;
    assert_eq!(app.offer_stock(shop.offer_id), Some(3));
    app.make_overdue(id);
    app.action(&format!("/orders/{id}/pay"), Some(&buyer.token))
        .await
        .expect(409, Some("invalid_state"));
    let order = app.get(&format!("/orders/{id}"), Some(&buyer.token)).await;
    assert_eq!(order.expect(200, None)["status"], "cancelled");
    assert_eq!(app.offer_stock(shop.offer_id), Some(5));
    assert_eq!(app.voucher_state(voucher), ("available".to_owned(), None));
}
