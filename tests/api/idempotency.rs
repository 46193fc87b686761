//! `Idempotency-Key` on `POST /orders`, `/orders/{id}/pay` and `/orders/{id}/refund`.

use chrono::Duration;
use diesel::prelude::*;
use futures_util::future::join_all;
use serde_json::json;
use wenlv::db::schema::{idempotency_keys, orders, payments};
use wenlv::time::now;

use crate::helpers::TestApp;

fn order_count(app: &TestApp) -> i64 {
    orders::table.count().get_result(&mut app.db()).expect("count")
}

fn payment_count(app: &TestApp, order_id: i64, kind: &str) -> i64 {
    payments::table
        .filter(payments::order_id.eq(order_id))
        .filter(payments::kind.eq(kind))
        .count()
        .get_result(&mut app.db())
        .expect("count")
}

#[tokio::test]
async fn a_repeated_order_is_answered_from_the_first_and_takes_stock_once() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let (buyer, voucher) = app.buyer(&shop).await;
    let body = json!({"offer_id": shop.offer_id, "quantity": 2, "voucher_id": voucher});

    let first = app
        .post_with_key("/orders", &buyer.token, Some(body.clone()), "order-1")
        .await;
    first.expect(201, None);
    // The same JSON with its keys in another order is the same request.
    let reordered = json!({"voucher_id": voucher, "quantity": 2, "offer_id": shop.offer_id});
    let again = app
        .post_with_key("/orders", &buyer.token, Some(reordered), "order-1")
        .await;
    again.expect(201, None);
    assert_eq!(again.body, first.body, "the same body");
    assert_eq!(
        again.headers.get("idempotent-replayed").map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert_eq!(app.offer_stock(shop.offer_id), Some(8));
    assert_eq!(order_count(&app), 1);

    // Another key is another order (and this voucher is taken now).
    let second = app.post_with_key("/orders", &buyer.token, Some(body), "order-2").await;
    second.expect(409, Some("voucher_unavailable"));
}

#[tokio::test]
async fn a_key_reused_with_another_body_is_refused() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let buyer = app.resident().await;
    let key = "7f9c2ba4-e88f-11ee-a8b6-0242ac120002";
    app.post_with_key(
        "/orders",
        &buyer.token,
        Some(json!({"offer_id": shop.offer_id, "quantity": 1})),
        key,
    )
    .await
    .expect(201, None);
    app.post_with_key(
        "/orders",
        &buyer.token,
        Some(json!({"offer_id": shop.offer_id, "quantity": 2})),
        key,
    )
    .await
    .expect(422, Some("idempotency_key_reused"));
    assert_eq!(app.offer_stock(shop.offer_id), Some(9));
}

#[tokio::test]
async fn keys_are_scoped_to_the_user_and_the_path() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let alice = app.resident().await;
    let bob = app.resident().await;
    let body = json!({"offer_id": shop.offer_id, "quantity": 1});
    let a = app
        .post_with_key("/orders", &alice.token, Some(body.clone()), "same")
        .await;
    let b = app.post_with_key("/orders", &bob.token, Some(body), "same").await;
    assert_ne!(a.expect(201, None)["id"], b.expect(201, None)["id"]);
    assert_eq!(app.offer_stock(shop.offer_id), Some(8));

    // One key on two orders' pay paths pays both.
    let first = app.order_id(&alice.token, shop.offer_id, 1, None).await;
    let second = app.order_id(&alice.token, shop.offer_id, 1, None).await;
    for id in [first, second] {
        let paid = app
            .post_with_key(&format!("/orders/{id}/pay"), &alice.token, None, "same")
            .await;
        assert_eq!(paid.expect(200, None)["id"], id);
    }
}

#[tokio::test]
async fn a_repeated_payment_and_refund_happen_once() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let (buyer, voucher) = app.buyer(&shop).await;
    let id = app.order_id(&buyer.token, shop.offer_id, 1, Some(voucher)).await;
    let reserved = app.campaign_reserved(shop.campaign_id);

    let pay = format!("/orders/{id}/pay");
    let first = app.post_with_key(&pay, &buyer.token, None, "pay-1").await;
    let again = app.post_with_key(&pay, &buyer.token, None, "pay-1").await;
    first.expect(200, None);
    again.expect(200, None);
    assert_eq!(first.body, again.body);
    assert!(again.body["redemption_code"].as_str().is_some());
    assert_eq!(payment_count(&app, id, "payment"), 1);
    // Without the key, a second payment is a wrong-state move.
    app.action(&pay, Some(&buyer.token))
        .await
        .expect(409, Some("invalid_state"));

    let refund = format!("/orders/{id}/refund");
    let first = app.post_with_key(&refund, &buyer.token, None, "refund-1").await;
    let again = app.post_with_key(&refund, &buyer.token, None, "refund-1").await;
    first.expect(200, None);
    assert_eq!(first.body, again.body);
    assert_eq!(payment_count(&app, id, "refund"), 1);
    assert_eq!(
        app.campaign_reserved(shop.campaign_id),
        reserved - crate::order_fixtures::DISCOUNT_FEN
    );
    assert_eq!(app.offer_stock(shop.offer_id), Some(10));
}

#[tokio::test]
async fn a_refusal_is_stored_and_replayed_too() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(1)).await;
    let buyer = app.resident().await;
    let body = json!({"offer_id": shop.offer_id, "quantity": 2});
    let first = app
        .post_with_key("/orders", &buyer.token, Some(body.clone()), "k")
        .await;
    first.expect(409, Some("out_of_stock"));
    // Even once there is stock, the key's answer is the first one.
    diesel::update(wenlv::db::schema::offers::table.find(shop.offer_id))
        .set(wenlv::db::schema::offers::stock.eq(Some(5_i64)))
        .execute(&mut app.db())
        .expect("restocked");
    let again = app
        .post_with_key("/orders", &buyer.token, Some(body.clone()), "k")
        .await;
    again.expect(409, Some("out_of_stock"));
    assert_eq!(first.body, again.body);
    app.post_with_key("/orders", &buyer.token, Some(body), "k2")
        .await
        .expect(201, None);
}

#[tokio::test]
async fn parallel_requests_with_one_key_make_one_order() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(100)).await;
    let buyer = app.resident().await;
    let body = json!({"offer_id": shop.offer_id, "quantity": 1});
    let attempts = (0..10).map(|_| app.post_with_key("/orders", &buyer.token, Some(body.clone()), "burst"));
    let results = join_all(attempts).await;
    let mut ids = Vec::new();
    for r in &results {
        match r.status {
            201 => ids.push(r.body["id"].as_i64().expect("id")),
            _ => {
                r.expect(409, Some("idempotency_key_in_use"));
            }
        }
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every success is the one order: {ids:?}");
    assert_eq!(order_count(&app), 1);
    assert_eq!(app.offer_stock(shop.offer_id), Some(99));
}

#[tokio::test]
async fn a_key_still_being_processed_is_in_use() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let buyer = app.resident().await;
    let body = json!({"offer_id": shop.offer_id, "quantity": 1});
    // A claim without an answer: what a request still running leaves.
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::user_id.eq(buyer.id),
            idempotency_keys::method.eq("POST"),
            idempotency_keys::path.eq("/api/v1/orders"),
            idempotency_keys::idem_key.eq("busy"),
            idempotency_keys::request_hash.eq(wenlv::idempotency::body_hash(Some(&body))),
            idempotency_keys::created_at.eq(now()),
            idempotency_keys::expires_at.eq(now() + Duration::hours(24)),
        ))
        .execute(&mut app.db())
        .expect("claim inserted");
    app.post_with_key("/orders", &buyer.token, Some(body.clone()), "busy")
        .await
        .expect(409, Some("idempotency_key_in_use"));
    assert_eq!(order_count(&app), 0);

    // Past the lease, the claim belonged to a request that died: a retry takes over.
    diesel::update(idempotency_keys::table)
        .set(
            idempotency_keys::created_at.eq(now() - Duration::seconds(wenlv::idempotency::IN_FLIGHT_LEASE_SECONDS + 1)),
        )
        .execute(&mut app.db())
        .expect("claim aged");
    app.post_with_key("/orders", &buyer.token, Some(body), "busy")
        .await
        .expect(201, None);
    assert_eq!(order_count(&app), 1);
}

#[tokio::test]
async fn an_expired_key_is_replaced() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let buyer = app.resident().await;
    let body = json!({"offer_id": shop.offer_id, "quantity": 1});
    let first = app
        .post_with_key("/orders", &buyer.token, Some(body.clone()), "old")
        .await;
    let expires_at: chrono::NaiveDateTime = idempotency_keys::table
        .select(idempotency_keys::expires_at)
        .first(&mut app.db())
        .expect("key stored");
    let ttl = expires_at - now();
    assert!(
        ttl > Duration::hours(23) && ttl <= Duration::hours(24),
        "kept 24 h: {ttl}"
    );
    diesel::update(idempotency_keys::table)
        .set(idempotency_keys::expires_at.eq(now() - Duration::seconds(1)))
        .execute(&mut app.db())
        .expect("key expired");
    let second = app.post_with_key("/orders", &buyer.token, Some(body), "old").await;
    assert_ne!(first.expect(201, None)["id"], second.expect(201, None)["id"]);
    assert_eq!(app.offer_stock(shop.offer_id), Some(8));
}

#[tokio::test]
async fn a_key_must_be_printable_ascii_of_at_most_100() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let buyer = app.resident().await;
    let body = json!({"offer_id": shop.offer_id, "quantity": 1});
    let too_long = "k".repeat(101);
    for key in [too_long.as_str(), ""] {
        let resp = app
            .post_with_key("/orders", &buyer.token, Some(body.clone()), key)
            .await;
        resp.expect(422, Some("validation_failed"));
        assert_eq!(resp.error_fields(), vec!["Idempotency-Key"]);
    }
    let non_ascii = reqwest::header::HeaderValue::from_bytes("订单-1".as_bytes()).expect("header bytes");
    let resp = app
        .send(
            app.client
                .post(app.url("/orders"))
                .bearer_auth(&buyer.token)
                .header("Idempotency-Key", non_ascii)
                .json(&body),
        )
        .await;
    resp.expect(422, Some("validation_failed"));
    assert_eq!(app.offer_stock(shop.offer_id), Some(10));
    let longest = "k".repeat(100);
    app.post_with_key("/orders", &buyer.token, Some(body), &longest)
        .await
        .expect(201, None);
}
