//! The sweeper: unpaid orders past `payment_due_at` are cancelled with stock and
//! voucher returned, once, however many sweepers run on one database.

use std::collections::HashMap;

use chrono::Duration;
use diesel::prelude::*;
use wenlv::db::schema::idempotency_keys;
use wenlv::orders::sweeper::sweep_once;
use wenlv::time::now;

use crate::helpers::TestApp;
use crate::order_fixtures::check_invariants;

/// An app whose own background sweeper does not run, so tests sweep by hand.
async fn quiet_app() -> TestApp {
    TestApp::spawn_with(|s| s.orders.sweep_interval_seconds = 0).await
}

#[tokio::test]
async fn an_overdue_order_is_cancelled_with_stock_and_voucher_returned() {
    let app = quiet_app().await;
    let shop = app.shop(Some(10)).await;
    let (buyer, voucher) = app.buyer(&shop).await;
    let overdue = app.order_id(&buyer.token, shop.offer_id, 2, Some(voucher)).await;
    let fresh = app.order_id(&buyer.token, shop.offer_id, 1, None).await;
    let (paid, _) = app.paid_order(&buyer.token, shop.offer_id, None).await;
    app.make_overdue(overdue);
    app.make_overdue(paid);
    assert_eq!(app.offer_stock(shop.offer_id), Some(6));

    assert_eq!(sweep_once(&mut app.db()).expect("sweep"), 1);
    let order = app.get(&format!("/orders/{overdue}"), Some(&buyer.token)).await;
    let order = order.expect(200, None);
    assert_eq!(order["status"], "cancelled");
    assert!(order["cancelled_at"].as_str().is_some());
    assert_eq!(app.offer_stock(shop.offer_id), Some(8));
    assert_eq!(app.voucher_state(voucher), ("available".to_owned(), None));
    for (id, status) in [(fresh, "pending_payment"), (paid, "paid")] {
        let order = app.get(&format!("/orders/{id}"), Some(&buyer.token)).await;
        assert_eq!(order.expect(200, None)["status"], status);
    }
    assert_eq!(sweep_once(&mut app.db()).expect("sweep"), 0, "nothing twice");
    // Too late to pay.
    app.action(&format!("/orders/{overdue}/pay"), Some(&buyer.token))
        .await
        .expect(409, Some("invalid_state"));
    check_invariants(&mut app.db(), &HashMap::from([(shop.offer_id, 10)]));
}

#[tokio::test]
async fn two_sweepers_on_one_database_cancel_each_order_once() {
    let app = quiet_app().await;
    let shop = app.shop(Some(100)).await;
    let mut overdue = Vec::new();
    for _ in 0..30 {
        let (buyer, voucher) = app.buyer(&shop).await;
        overdue.push(app.order_id(&buyer.token, shop.offer_id, 2, Some(voucher)).await);
    }
    for &id in &overdue {
        app.make_overdue(id);
    }
    // Two sweepers, each with its own connection, as two instances would run them.
    let sweepers: Vec<_> = (0..2)
        .map(|_| {
            let mut conn = app.db();
            std::thread::spawn(move || sweep_once(&mut conn).expect("sweep"))
        })
        .collect();
    let counts: Vec<usize> = sweepers
        .into_iter()
        .map(|s| s.join().expect("sweeper thread"))
        .collect();
    assert_eq!(
        counts.iter().sum::<usize>(),
        30,
        "each order cancelled by exactly one: {counts:?}"
    );
    assert_eq!(app.offer_stock(shop.offer_id), Some(100));
    check_invariants(&mut app.db(), &HashMap::from([(shop.offer_id, 100)]));
}

#[tokio::test]
async fn the_sweeper_and_a_payment_racing_leave_one_winner() {
    let app = quiet_app().await;
    let shop = app.shop(Some(50)).await;
    let mut orders = Vec::new();
    for _ in 0..10 {
        let (buyer, voucher) = app.buyer(&shop).await;
        let id = app.order_id(&buyer.token, shop.offer_id, 1, Some(voucher)).await;
        app.make_overdue(id);
        orders.push((buyer, id));
    }
    let mut conn = app.db();
    let sweeper = tokio::task::spawn_blocking(move || sweep_once(&mut conn).expect("sweep"));
    let pays = orders
        .iter()
        .map(|(buyer, id)| app.action_owned(format!("/orders/{id}/pay"), buyer.token.clone()));
    let results = futures_util::future::join_all(pays).await;
    let swept = sweeper.await.expect("sweeper task");
    let paid = results.iter().filter(|r| r.status == 200).count();
    for r in results.iter().filter(|r| r.status != 200) {
        r.expect(409, Some("invalid_state"));
    }
    // Paying an overdue order cancels it (issue 13): the sweeper and the payment
    // both cancel, exactly one of them each order.
    assert_eq!(paid, 0, "an overdue order is never paid");
    assert!(swept <= 10);
    check_invariants(&mut app.db(), &HashMap::from([(shop.offer_id, 50)]));
}

#[tokio::test]
async fn the_background_sweeper_cancels_unpaid_orders() {
    let app = TestApp::spawn_with(|s| {
        s.orders.sweep_interval_seconds = 1;
        s.orders.payment_timeout = 1;
    })
    .await;
    let shop = app.shop(Some(5)).await;
    let (buyer, voucher) = app.buyer(&shop).await;
    let id = app.order_id(&buyer.token, shop.offer_id, 1, Some(voucher)).await;
    let mut status = String::new();
    for _ in 0..120 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let order = app.get(&format!("/orders/{id}"), Some(&buyer.token)).await;
        status = order.expect(200, None)["status"].as_str().expect("status").to_owned();
        if status == "cancelled" {
            break;
        }
    }
    assert_eq!(status, "cancelled");
    assert_eq!(app.offer_stock(shop.offer_id), Some(5));
    assert_eq!(app.voucher_state(voucher), ("available".to_owned(), None));
}

#[tokio::test]
async fn expired_idempotency_keys_are_deleted() {
    let app = quiet_app().await;
    let shop = app.shop(Some(10)).await;
    let buyer = app.resident().await;
    let body = serde_json::json!({"offer_id": shop.offer_id, "quantity": 1});
    app.post_with_key("/orders", &buyer.token, Some(body.clone()), "a")
        .await
        .expect(201, None);
    app.post_with_key("/orders", &buyer.token, Some(body), "b")
        .await
        .expect(201, None);
    diesel::update(idempotency_keys::table.filter(idempotency_keys::idem_key.eq("a")))
        .set(idempotency_keys::expires_at.eq(now() - Duration::seconds(1)))
        .execute(&mut app.db())
        .expect("expired");
    sweep_once(&mut app.db()).expect("sweep");
    let left: Vec<String> = idempotency_keys::table
        .select(idempotency_keys::idem_key)
        .load(&mut app.db())
        .expect("keys");
    assert_eq!(left, vec!["b".to_owned()]);
}

#[tokio::test]
async fn one_order_that_cannot_be_cancelled_does_not_stop_the_pass() {
    let app = quiet_app().await;
    let shop = app.shop(Some(10)).await;
    let (buyer, voucher) = app.buyer(&shop).await;
    let broken = app.order_id(&buyer.token, shop.offer_id, 1, Some(voucher)).await;
    let fine = app.order_id(&buyer.token, shop.offer_id, 1, None).await;
    app.make_overdue(broken);
    app.make_overdue(fine);
    // Bad data: the voucher the first order locked is no longer locked by it.
    diesel::update(wenlv::db::schema::vouchers::table.find(voucher))
        .set(wenlv::db::schema::vouchers::status.eq("available"))
        .execute(&mut app.db())
        .expect("voucher updated");
    assert_eq!(sweep_once(&mut app.db()).expect("the pass goes on"), 1);
    let order = app.get(&format!("/orders/{fine}"), Some(&buyer.token)).await;
    assert_eq!(order.expect(200, None)["status"], "cancelled");
}
