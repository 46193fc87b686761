//! Paying re-checks what may have changed since the order was placed (issue 13):
//! a merchant suspended since is 409 `offer_unavailable`, a campaign paused or
//! ended since is 422 `voucher_not_applicable`, decided by the conditional claim
//! before any money moves. And one money movement per order at a time: of
//! parallel pay calls without an `Idempotency-Key`, exactly one reaches the
//! provider, under a reference derived from the order.

use diesel::prelude::*;
use wenlv::db::schema::orders;

use crate::helpers::TestApp;

#[tokio::test]
async fn an_order_at_a_merchant_suspended_since_cannot_be_paid() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let (buyer, voucher) = app.buyer(&shop).await;
    let id = app.order_id(&buyer.token, shop.offer_id, 1, Some(voucher)).await;
    app.set_merchant_status(shop.merchant_id, "suspended");
    let pay = format!("/orders/{id}/pay");
    app.action(&pay, Some(&buyer.token))
        .await
        .expect(409, Some("offer_unavailable"));
    let order = app.get(&format!("/orders/{id}"), Some(&buyer.token)).await;
    assert_eq!(order.expect(200, None)["status"], "pending_payment");
    app.set_merchant_status(shop.merchant_id, "approved");
    app.action(&pay, Some(&buyer.token)).await.expect(200, None);
}

#[tokio::test]
async fn an_order_in_a_campaign_paused_or_ended_since_cannot_be_paid() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let (buyer, voucher) = app.buyer(&shop).await;
    let id = app.order_id(&buyer.token, shop.offer_id, 1, Some(voucher)).await;
    let pay = format!("/orders/{id}/pay");
    for status in ["paused", "ended"] {
        app.set_campaign_status(shop.campaign_id, status);
        app.action(&pay, Some(&buyer.token))
            .await
            .expect(422, Some("voucher_not_applicable"));
    }
    assert_eq!(app.voucher_state(voucher).0, "locked");
    // Without a voucher the campaign does not matter.
    let plain = app.order_id(&buyer.token, shop.offer_id, 1, None).await;
    app.action(&format!("/orders/{plain}/pay"), Some(&buyer.token))
        .await
        .expect(200, None);
    // The resident can still cancel and gets the voucher back.
    app.action(&format!("/orders/{id}/cancel"), Some(&buyer.token))
        .await
        .expect(200, None);
}

#[tokio::test]
async fn parallel_pay_calls_reach_the_provider_once() {
    let app = TestApp::spawn_with(|s| s.payments.sandbox_delay_ms = 300).await;
    let shop = app.shop(Some(10)).await;
    let (buyer, _) = app.buyer(&shop).await;
    let id = app.order_id(&buyer.token, shop.offer_id, 1, None).await;
    // Sandbox calls are counted per reference process-wide; a unique order id keeps
    // other tests' orders out of this count.
    let unique = 1_000_000_000
        + i64::from(std::process::id()) * 1_000
        + (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .subsec_micros() as i64
            % 1_000);
    diesel::update(orders::table.find(id))
        .set(orders::id.eq(unique))
        .execute(&mut app.db())
        .expect("order renumbered");
    let pays = (0..4).map(|_| app.action_owned(format!("/orders/{unique}/pay"), buyer.token.clone()));
    let results = futures_util::future::join_all(pays).await;
    let paid = results.iter().filter(|r| r.status == 200).count();
    for r in results.iter().filter(|r| r.status != 200) {
        r.expect(409, Some("invalid_state"));
    }
    assert_eq!(paid, 1, "exactly one pay call succeeds");
    assert_eq!(
        wenlv::payments::sandbox_calls(&format!("pay-{unique}")),
        1,
        "exactly one call reached the provider"
    );
    // The claim is gone once the payment is recorded: a refund goes through.
    app.action(&format!("/orders/{unique}/refund"), Some(&buyer.token))
        .await
        .expect(200, None);
}
