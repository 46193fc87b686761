//! Orders: creation with and without vouchers and each refusal, payment,
//! redemption, cancellation, refunds, who sees what, lists, and races.

use std::collections::HashMap;

use chrono::Duration;
use diesel::prelude::*;
use futures_util::future::join_all;
use serde_json::json;
use wenlv::db::schema::payments;
use wenlv::time::now;

use crate::helpers::TestApp;
use crate::order_fixtures::{check_invariants, CampaignSpec, DISCOUNT_FEN, PRICE_FEN};

const ORDER_FIELDS: [&str; 16] = [
    "id",
    "user_id",
    "merchant_id",
    "offer_id",
    "quantity",
    "voucher_id",
    "gross_fen",
    "subsidy_fen",
    "payable_fen",
    "status",
    "redemption_code",
    "created_at",
    "paid_at",
    "redeemed_at",
    "cancelled_at",
    "refunded_at",
];

#[tokio::test]
async fn an_order_with_a_voucher_takes_stock_and_locks_the_voucher() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let (buyer, voucher) = app.buyer(&shop).await;

    let resp = app.order(&buyer.token, shop.offer_id, 1, Some(voucher)).await;
    let order = resp.expect(201, None);
    let object = order.as_object().expect("an object");
    assert_eq!(
        object.len(),
        ORDER_FIELDS.len(),
        "exactly the contract's fields: {order}"
    );
    for field in ORDER_FIELDS {
        assert!(object.contains_key(field), "{field} missing");
    }
    assert_eq!(order["user_id"], buyer.id);
    assert_eq!(order["merchant_id"], shop.merchant_id);
    assert_eq!(order["offer_id"], shop.offer_id);
    assert_eq!(order["quantity"], 1);
    assert_eq!(order["voucher_id"], voucher);
    assert_eq!(order["gross_fen"], PRICE_FEN);
    assert_eq!(order["subsidy_fen"], DISCOUNT_FEN);
    assert_eq!(order["payable_fen"], PRICE_FEN - DISCOUNT_FEN);
    assert_eq!(order["status"], "pending_payment");
    assert_eq!(order["redemption_code"], json!(null));
    assert!(order["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    for field in ["paid_at", "redeemed_at", "cancelled_at", "refunded_at"] {
        assert_eq!(order[field], json!(null));
    }
    assert_eq!(app.offer_stock(shop.offer_id), Some(9));
    let order_id = order["id"].as_i64().expect("id");
    assert_eq!(app.voucher_state(voucher), ("locked".to_owned(), Some(order_id)));
}

#[tokio::test]
async fn an_order_without_a_voucher_pays_the_gross() {
    let app = TestApp::spawn().await;
    let shop = app.shop(None).await;
    let buyer = app.resident().await;
    let resp = app.order(&buyer.token, shop.offer_id, 3, None).await;
    let order = resp.expect(201, None);
    assert_eq!(order["gross_fen"], 3 * PRICE_FEN);
    assert_eq!(order["subsidy_fen"], 0);
    assert_eq!(order["payable_fen"], 3 * PRICE_FEN);
    assert_eq!(order["voucher_id"], json!(null));
    assert_eq!(app.offer_stock(shop.offer_id), None, "unlimited stays unlimited");
    // Members buy at their own merchant like anybody, just without vouchers.
    app.order(&shop.owner.token, shop.offer_id, 1, None)
        .await
        .expect(201, None);
}

#[tokio::test]
async fn order_input_is_validated() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let buyer = app.resident().await;
    let cases = [
        (json!({}), vec!["offer_id", "quantity"]),
        (json!({"offer_id": shop.offer_id, "quantity": 0}), vec!["quantity"]),
        (json!({"offer_id": shop.offer_id, "quantity": 100}), vec!["quantity"]),
        (json!({"offer_id": shop.offer_id, "quantity": 1.5}), vec!["quantity"]),
        (json!({"offer_id": "1", "quantity": 1}), vec!["offer_id"]),
        (
            json!({"offer_id": shop.offer_id, "quantity": 1, "voucher_id": "x", "price_fen": 1}),
            vec!["price_fen", "voucher_id"],
        ),
    ];
    for (body, fields) in cases {
        let resp = app.post("/orders", Some(&buyer.token), body.clone()).await;
        resp.expect(422, Some("validation_failed"));
        assert_eq!(resp.error_fields(), fields, "body {body}");
    }
    app.post("/orders", None, json!({"offer_id": shop.offer_id, "quantity": 1}))
        .await
        .expect(401, Some("unauthorized"));
    app.post(
        "/orders",
        Some(&shop.admin.token),
        json!({"offer_id": shop.offer_id, "quantity": 1}),
    )
    .await
    .expect(403, Some("forbidden"));
    assert_eq!(app.offer_stock(shop.offer_id), Some(10));
}

#[tokio::test]
async fn offers_that_are_not_on_sale_take_no_orders() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let buyer = app.resident().await;
    app.order(&buyer.token, 999_999, 1, None)
        .await
        .expect(404, Some("not_found"));

    // A merchant never approved is invisible to strangers, visible to its members.
    let pending_owner = app.resident().await;
    let pending = app.insert_merchant(pending_owner.id, "pending", "museum", "anci");
    let hidden_offer = app.insert_offer(pending, 2_000, Some(5));
    app.order(&buyer.token, hidden_offer, 1, None)
        .await
        .expect(404, Some("not_found"));
    app.order(&pending_owner.token, hidden_offer, 1, None)
        .await
        .expect(409, Some("offer_unavailable"));

    app.set_offer_status(shop.offer_id, "inactive");
    app.order(&buyer.token, shop.offer_id, 1, None)
        .await
        .expect(409, Some("offer_unavailable"));
    app.set_offer_status(shop.offer_id, "active");

    // A suspended merchant takes no new orders, with or without a voucher.
    let (holder, voucher) = app.buyer(&shop).await;
    app.set_merchant_status(shop.merchant_id, "suspended");
    app.order(&buyer.token, shop.offer_id, 1, None)
        .await
        .expect(409, Some("offer_unavailable"));
    app.order(&holder.token, shop.offer_id, 1, Some(voucher))
        .await
        .expect(409, Some("offer_unavailable"));
    app.set_merchant_status(shop.merchant_id, "approved");
    app.order(&buyer.token, shop.offer_id, 1, None).await.expect(201, None);
    assert_eq!(app.offer_stock(shop.offer_id), Some(9));
    assert_eq!(app.voucher_state(voucher).0, "available");
}

#[tokio::test]
async fn an_order_beyond_the_stock_is_refused() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(2)).await;
    let (buyer, voucher) = app.buyer(&shop).await;
    app.order(&buyer.token, shop.offer_id, 3, Some(voucher))
        .await
        .expect(409, Some("out_of_stock"));
    assert_eq!(app.voucher_state(voucher), ("available".to_owned(), None));
    app.order(&buyer.token, shop.offer_id, 2, None).await.expect(201, None);
    app.order(&buyer.token, shop.offer_id, 1, None)
        .await
        .expect(409, Some("out_of_stock"));
    assert_eq!(app.offer_stock(shop.offer_id), Some(0));
}

#[tokio::test]
async fn a_voucher_must_be_the_callers_and_available() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let (buyer, voucher) = app.buyer(&shop).await;
    let (_other, others_voucher) = app.buyer(&shop).await;

    // Another's voucher answers exactly like one that does not exist.
    let theirs = app.order(&buyer.token, shop.offer_id, 1, Some(others_voucher)).await;
    theirs.expect(409, Some("voucher_unavailable"));
    let missing = app.order(&buyer.token, shop.offer_id, 1, Some(999_999)).await;
    missing.expect(409, Some("voucher_unavailable"));
    assert_eq!(theirs.body["detail"], missing.body["detail"]);
    assert_eq!(app.voucher_state(others_voucher), ("available".to_owned(), None));

    // Locked by a live order.
    app.order_id(&buyer.token, shop.offer_id, 1, Some(voucher)).await;
    app.order(&buyer.token, shop.offer_id, 1, Some(voucher))
        .await
        .expect(409, Some("voucher_unavailable"));

    // Expired.
    let expired = app.insert_voucher(shop.batch_id, buyer.id);
    app.set_voucher_expiry(expired, now() - Duration::seconds(1));
    app.order(&buyer.token, shop.offer_id, 1, Some(expired))
        .await
        .expect(409, Some("voucher_unavailable"));
    assert_eq!(
        app.offer_stock(shop.offer_id),
        Some(9),
        "only the first order took stock"
    );
}

#[tokio::test]
async fn members_cannot_use_vouchers_at_their_own_merchant() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let owner_voucher = app.insert_voucher(shop.batch_id, shop.owner.id);
    app.order(&shop.owner.token, shop.offer_id, 1, Some(owner_voucher))
        .await
        .expect(422, Some("voucher_not_applicable"));
    let (staff, staff_voucher) = app.buyer(&shop).await;
    app.add_member(shop.merchant_id, staff.id, "staff");
    app.order(&staff.token, shop.offer_id, 1, Some(staff_voucher))
        .await
        .expect(422, Some("voucher_not_applicable"));
    // At another merchant the same voucher is fine.
    let elsewhere = app.insert_merchant(app.resident().await.id, "approved", "cinema", "anci");
    let ticket = app.insert_offer(elsewhere, 12_000, Some(10));
    app.order(&staff.token, ticket, 1, Some(staff_voucher))
        .await
        .expect(201, None);
    assert_eq!(app.offer_stock(shop.offer_id), Some(10));
}

#[tokio::test]
async fn a_voucher_needs_the_min_spend_and_an_eligible_active_campaign() {
    let app = TestApp::spawn().await;
    let spec = CampaignSpec {
        eligible_categories: "performance,museum",
        eligible_districts: "guangyang,anci",
        ..CampaignSpec::default()
    };
    let shop = app.shop_with(Some(10), &spec).await;
    let (buyer, voucher) = app.buyer(&shop).await;
    let not_applicable = |resp: crate::helpers::Resp| {
        resp.expect(422, Some("voucher_not_applicable"));
    };

    // Below the min spend (100 yuan): a 50-yuan ticket, then two of them is enough.
    let cheap = app.insert_offer(shop.merchant_id, 5_000, Some(10));
    not_applicable(app.order(&buyer.token, cheap, 1, Some(voucher)).await);
    // Category and district not covered.
    let owner = app.resident().await;
    let cinema = app.insert_merchant(owner.id, "approved", "cinema", "guangyang");
    let cinema_offer = app.insert_offer(cinema, PRICE_FEN, Some(10));
    not_applicable(app.order(&buyer.token, cinema_offer, 1, Some(voucher)).await);
    let far = app.insert_merchant(owner.id, "approved", "museum", "sanhe");
    let far_offer = app.insert_offer(far, PRICE_FEN, Some(10));
    not_applicable(app.order(&buyer.token, far_offer, 1, Some(voucher)).await);
    // The campaign paused, then not yet started.
    app.set_campaign_status(shop.campaign_id, "paused");
    not_applicable(app.order(&buyer.token, shop.offer_id, 1, Some(voucher)).await);
    app.set_campaign_status(shop.campaign_id, "active");
    let later = CampaignSpec {
        starts_at: now() + Duration::days(1),
        ..CampaignSpec::default()
    };
    let future_campaign = app.insert_campaign(shop.admin.id, &later);
    let future_batch = app.insert_batch(future_campaign, DISCOUNT_FEN, 0, 10);
    let early = app.insert_voucher(future_batch, buyer.id);
    not_applicable(app.order(&buyer.token, shop.offer_id, 1, Some(early)).await);

    for offer in [cheap, cinema_offer, far_offer, shop.offer_id] {
        assert_eq!(app.offer_stock(offer), Some(10), "no refusal took stock");
    }
    assert_eq!(app.voucher_state(voucher), ("available".to_owned(), None));

    let order = app.order(&buyer.token, cheap, 2, Some(voucher)).await;
    let order = order.expect(201, None);
    assert_eq!(order["payable_fen"], 10_000 - DISCOUNT_FEN);
}

#[tokio::test]
async fn a_discount_larger_than_the_order_is_not_applicable() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    // No min spend, 30 yuan off, on a 20-yuan item: payable would be negative.
    let batch = app.insert_batch(shop.campaign_id, DISCOUNT_FEN, 0, 10);
    let buyer = app.resident().await;
    let voucher = app.insert_voucher(batch, buyer.id);
    let small = app.insert_offer(shop.merchant_id, 2_000, Some(10));
    app.order(&buyer.token, small, 1, Some(voucher))
        .await
        .expect(422, Some("voucher_not_applicable"));
    let order = app.order(&buyer.token, small, 2, Some(voucher)).await;
    assert_eq!(order.expect(201, None)["payable_fen"], 1_000);
}

#[tokio::test]
async fn paying_uses_the_voucher_and_gives_a_redemption_code() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let (buyer, voucher) = app.buyer(&shop).await;
    let id = app.order_id(&buyer.token, shop.offer_id, 1, Some(voucher)).await;
    // A voucher locked by the order stays good for it even past its expiry.
    app.set_voucher_expiry(voucher, now() - Duration::seconds(1));

    let paid = app.action(&format!("/orders/{id}/pay"), Some(&buyer.token)).await;
    let order = paid.expect(200, None);
    assert_eq!(order["status"], "paid");
    let code = order["redemption_code"].as_str().expect("a code");
    assert!(code.len() == 12 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    assert!(order["paid_at"].as_str().is_some());
    assert_eq!(app.voucher_state(voucher), ("used".to_owned(), Some(id)));
    let recorded: Vec<(String, String, i64, String)> = payments::table
        .filter(payments::order_id.eq(id))
        .select((
            payments::provider,
            payments::kind,
            payments::amount_fen,
            payments::status,
        ))
        .load(&mut app.db())
        .expect("payments");
    assert_eq!(
        recorded,
        vec![(
            "sandbox".to_owned(),
            "payment".to_owned(),
            PRICE_FEN - DISCOUNT_FEN,
            "succeeded".to_owned()
        )]
    );

    app.action(&format!("/orders/{id}/pay"), Some(&buyer.token))
        .await
        .expect(409, Some("invalid_state"));
    app.action(&format!("/orders/{id}/cancel"), Some(&buyer.token))
        .await
        .expect(409, Some("invalid_state"));
    assert_eq!(app.offer_stock(shop.offer_id), Some(9));
}

#[tokio::test]
async fn another_residents_order_is_not_found() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let (buyer, voucher) = app.buyer(&shop).await;
    let stranger = app.resident().await;
    let id = app.order_id(&buyer.token, shop.offer_id, 1, Some(voucher)).await;
    for path in ["pay", "cancel", "refund"] {
        app.action(&format!("/orders/{id}/{path}"), Some(&stranger.token))
            .await
            .expect(404, Some("not_found"));
    }
    app.get(&format!("/orders/{id}"), Some(&stranger.token))
        .await
        .expect(404, Some("not_found"));
    app.get("/orders/999999", Some(&buyer.token))
        .await
        .expect(404, Some("not_found"));
    app.action("/orders/999999/pay", Some(&buyer.token))
        .await
        .expect(404, Some("not_found"));
    app.action("/orders/abc/cancel", Some(&buyer.token))
        .await
        .expect(404, Some("not_found"));
    app.action(&format!("/orders/{id}/pay"), None)
        .await
        .expect(401, Some("unauthorized"));
    assert_eq!(app.voucher_state(voucher), ("locked".to_owned(), Some(id)));
    assert_eq!(app.offer_stock(shop.offer_id), Some(9));
}

#[tokio::test]
async fn cancelling_returns_stock_and_voucher() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let (buyer, voucher) = app.buyer(&shop).await;
    let id = app.order_id(&buyer.token, shop.offer_id, 2, Some(voucher)).await;
    assert_eq!(app.offer_stock(shop.offer_id), Some(8));

    let cancelled = app.action(&format!("/orders/{id}/cancel"), Some(&buyer.token)).await;
    let order = cancelled.expect(200, None);
    assert_eq!(order["status"], "cancelled");
    assert!(order["cancelled_at"].as_str().is_some());
    assert_eq!(app.offer_stock(shop.offer_id), Some(10));
    assert_eq!(app.voucher_state(voucher), ("available".to_owned(), None));

    for path in ["cancel", "pay", "refund"] {
        app.action(&format!("/orders/{id}/{path}"), Some(&buyer.token))
            .await
            .expect(409, Some("invalid_state"));
    }
    // The voucher is good for another order.
    app.order(&buyer.token, shop.offer_id, 1, Some(voucher))
        .await
        .expect(201, None);
}

#[tokio::test]
async fn a_voucher_cancelled_back_past_its_expiry_is_expired() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let (buyer, voucher) = app.buyer(&shop).await;
    let id = app.order_id(&buyer.token, shop.offer_id, 1, Some(voucher)).await;
    app.set_voucher_expiry(voucher, now() - Duration::seconds(1));
    app.action(&format!("/orders/{id}/cancel"), Some(&buyer.token))
        .await
        .expect(200, None);
    // Stored available, reads expired: it cannot be used again.
    assert_eq!(app.voucher_state(voucher), ("available".to_owned(), None));
    app.order(&buyer.token, shop.offer_id, 1, Some(voucher))
        .await
        .expect(409, Some("voucher_unavailable"));
}

#[tokio::test]
async fn a_refund_voids_the_voucher_and_frees_its_face_value() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let (buyer, voucher) = app.buyer(&shop).await;
    let reserved = app.campaign_reserved(shop.campaign_id);
    app.action("/orders/1/refund", Some(&buyer.token))
        .await
        .expect(404, Some("not_found"));
    let id = app.order_id(&buyer.token, shop.offer_id, 1, Some(voucher)).await;
    app.action(&format!("/orders/{id}/refund"), Some(&buyer.token))
        .await
        .expect(409, Some("invalid_state"));
    app.action(&format!("/orders/{id}/pay"), Some(&buyer.token))
        .await
        .expect(200, None);

    let refunded = app.action(&format!("/orders/{id}/refund"), Some(&buyer.token)).await;
    let order = refunded.expect(200, None);
    assert_eq!(order["status"], "refunded");
    assert!(order["refunded_at"].as_str().is_some());
    assert_eq!(app.offer_stock(shop.offer_id), Some(10));
    assert_eq!(app.voucher_state(voucher), ("void".to_owned(), Some(id)));
    assert_eq!(app.campaign_reserved(shop.campaign_id), reserved - DISCOUNT_FEN);
    let refunds: i64 = payments::table
        .filter(payments::order_id.eq(id))
        .filter(payments::kind.eq("refund"))
        .count()
        .get_result(&mut app.db())
        .expect("count");
    assert_eq!(refunds, 1);

    for path in ["refund", "pay", "cancel"] {
        app.action(&format!("/orders/{id}/{path}"), Some(&buyer.token))
            .await
            .expect(409, Some("invalid_state"));
    }
    app.order(&buyer.token, shop.offer_id, 1, Some(voucher))
        .await
        .expect(409, Some("voucher_unavailable"));
    check_invariants(&mut app.db(), &HashMap::from([(shop.offer_id, 10)]));
}

#[tokio::test]
async fn a_refund_returns_the_voucher_when_the_campaign_says_so() {
    let app = TestApp::spawn().await;
    let spec = CampaignSpec {
        refund_returns_voucher: true,
        ..CampaignSpec::default()
    };
    let shop = app.shop_with(Some(10), &spec).await;
    let (buyer, voucher) = app.buyer(&shop).await;
    let reserved = app.campaign_reserved(shop.campaign_id);

    let (id, _) = app.paid_order(&buyer.token, shop.offer_id, Some(voucher)).await;
    app.action(&format!("/orders/{id}/refund"), Some(&buyer.token))
        .await
        .expect(200, None);
    assert_eq!(app.voucher_state(voucher), ("available".to_owned(), None));
    assert_eq!(app.campaign_reserved(shop.campaign_id), reserved);

    // Past its expiry a returned voucher would be useless: it is void instead.
    let (id, _) = app.paid_order(&buyer.token, shop.offer_id, Some(voucher)).await;
    app.set_voucher_expiry(voucher, now() - Duration::seconds(1));
    app.action(&format!("/orders/{id}/refund"), Some(&buyer.token))
        .await
        .expect(200, None);
    assert_eq!(app.voucher_state(voucher), ("void".to_owned(), Some(id)));
    assert_eq!(app.campaign_reserved(shop.campaign_id), reserved - DISCOUNT_FEN);
    check_invariants(&mut app.db(), &HashMap::from([(shop.offer_id, 10)]));
}

#[tokio::test]
async fn members_redeem_their_merchants_paid_orders() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let (buyer, voucher) = app.buyer(&shop).await;
    let staff = app.resident().await;
    app.add_member(shop.merchant_id, staff.id, "staff");
    let (id, code) = app.paid_order(&buyer.token, shop.offer_id, Some(voucher)).await;
    let path = format!("/merchants/{}/redemptions", shop.merchant_id);

    let redeemed = app.post(&path, Some(&staff.token), json!({"code": code})).await;
    let order = redeemed.expect(200, None);
    assert_eq!(order["id"], id);
    assert_eq!(order["status"], "redeemed");
    assert!(order["redeemed_at"].as_str().is_some());
    assert_eq!(order["redemption_code"], json!(null), "the code is the resident's");
    app.post(&path, Some(&shop.owner.token), json!({"code": code}))
        .await
        .expect(409, Some("already_redeemed"));
    app.action(&format!("/orders/{id}/refund"), Some(&buyer.token))
        .await
        .expect(409, Some("invalid_state"));
    assert_eq!(app.voucher_state(voucher).0, "used");

    app.post(&path, Some(&staff.token), json!({"code": "000000000000"}))
        .await
        .expect(404, Some("not_found"));
    for bad in [json!({"code": "12345"}), json!({"code": 123456789012_i64}), json!({})] {
        let resp = app.post(&path, Some(&staff.token), bad).await;
        resp.expect(422, Some("validation_failed"));
        assert_eq!(resp.error_fields(), vec!["code"]);
    }
}

#[tokio::test]
async fn redemption_is_for_this_merchants_members_and_paid_orders() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let buyer = app.resident().await;
    let (paid_id, code) = app.paid_order(&buyer.token, shop.offer_id, None).await;
    let path = format!("/merchants/{}/redemptions", shop.merchant_id);

    // Another merchant's members cannot redeem it, even at their own merchant.
    let rival_owner = app.resident().await;
    let rival = app.insert_merchant(rival_owner.id, "approved", "performance", "guangyang");
    app.post(
        &format!("/merchants/{rival}/redemptions"),
        Some(&rival_owner.token),
        json!({"code": code}),
    )
    .await
    .expect(404, Some("not_found"));
    // Strangers: 403 at an approved merchant, 404 at one that is not approved.
    app.post(&path, Some(&rival_owner.token), json!({"code": code}))
        .await
        .expect(403, Some("forbidden"));
    app.post(&path, Some(&shop.admin.token), json!({"code": code}))
        .await
        .expect(403, Some("forbidden"));
    let pending = app.insert_merchant(rival_owner.id, "pending", "museum", "anci");
    app.post(
        &format!("/merchants/{pending}/redemptions"),
        Some(&buyer.token),
        json!({"code": code}),
    )
    .await
    .expect(404, Some("not_found"));
    app.post(
        "/merchants/999999/redemptions",
        Some(&buyer.token),
        json!({"code": code}),
    )
    .await
    .expect(404, Some("not_found"));

    // A refunded order cannot be redeemed.
    app.action(&format!("/orders/{paid_id}/refund"), Some(&buyer.token))
        .await
        .expect(200, None);
    app.post(&path, Some(&shop.owner.token), json!({"code": code}))
        .await
        .expect(409, Some("invalid_state"));

    // A suspended merchant still redeems and refunds paid orders.
    let (second, second_code) = app.paid_order(&buyer.token, shop.offer_id, None).await;
    let (third, _) = app.paid_order(&buyer.token, shop.offer_id, None).await;
    app.set_merchant_status(shop.merchant_id, "suspended");
    let redeemed = app
        .post(&path, Some(&shop.owner.token), json!({"code": second_code}))
        .await;
    assert_eq!(redeemed.expect(200, None)["id"], second);
    app.action(&format!("/orders/{third}/refund"), Some(&buyer.token))
        .await
        .expect(200, None);
}

#[tokio::test]
async fn an_order_is_seen_by_its_resident_its_merchant_and_admins() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let buyer = app.resident().await;
    let (id, code) = app.paid_order(&buyer.token, shop.offer_id, None).await;
    let path = format!("/orders/{id}");

    let own = app.get(&path, Some(&buyer.token)).await;
    assert_eq!(own.expect(200, None)["redemption_code"], code.as_str());
    for viewer in [&shop.owner, &shop.admin] {
        let seen = app.get(&path, Some(&viewer.token)).await;
        let order = seen.expect(200, None);
        assert_eq!(order["id"], id);
        assert_eq!(order["redemption_code"], json!(null));
    }
    let other_owner = app.resident().await;
    app.insert_merchant(other_owner.id, "approved", "cinema", "anci");
    app.get(&path, Some(&other_owner.token))
        .await
        .expect(404, Some("not_found"));
    app.get(&path, None).await.expect(401, Some("unauthorized"));
}

#[tokio::test]
async fn lists_are_newest_first_filtered_and_paged() {
    let app = TestApp::spawn().await;
    let shop = app.shop(None).await;
    let buyer = app.resident().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(app.order_id(&buyer.token, shop.offer_id, 1, None).await);
    }
    app.action(&format!("/orders/{}/pay", ids[1]), Some(&buyer.token))
        .await
        .expect(200, None);
    app.action(&format!("/orders/{}/cancel", ids[2]), Some(&buyer.token))
        .await
        .expect(200, None);
    let other = app.resident().await;
    app.order_id(&other.token, shop.offer_id, 1, None).await;

    let first = app.get("/me/orders?limit=2", Some(&buyer.token)).await;
    let page = first.expect(200, None);
    let got: Vec<i64> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|o| o["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(got, vec![ids[4], ids[3]]);
    let cursor = page["next_cursor"].as_str().expect("a next page").to_owned();
    let rest = app
        .get(&format!("/me/orders?limit=10&cursor={cursor}"), Some(&buyer.token))
        .await;
    let rest = rest.expect(200, None);
    let got: Vec<i64> = rest["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|o| o["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(got, vec![ids[2], ids[1], ids[0]]);
    assert_eq!(rest["next_cursor"], json!(null));
    assert!(
        rest["items"][1]["redemption_code"].as_str().is_some(),
        "own orders show the code"
    );

    let paid = app.get("/me/orders?status=paid", Some(&buyer.token)).await;
    let paid = paid.expect(200, None);
    assert_eq!(paid["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(paid["items"][0]["id"], ids[1]);
    for bad in ["status=bogus", "limit=0", "cursor=nonsense"] {
        app.get(&format!("/me/orders?{bad}"), Some(&buyer.token))
            .await
            .expect(422, Some("validation_failed"));
    }

    // The merchant's list: its members only; everyone's orders, codes hidden.
    let path = format!("/merchants/{}/orders", shop.merchant_id);
    let all = app.get(&path, Some(&shop.owner.token)).await;
    let all = all.expect(200, None);
    assert_eq!(all["items"].as_array().map(Vec::len), Some(6));
    assert!(all["items"]
        .as_array()
        .expect("items")
        .iter()
        .all(|o| o["redemption_code"].is_null()));
    let pending = app
        .get(&format!("{path}?status=pending_payment"), Some(&shop.owner.token))
        .await;
    assert_eq!(pending.expect(200, None)["items"].as_array().map(Vec::len), Some(4));
    app.get(&path, Some(&buyer.token)).await.expect(403, Some("forbidden"));
    let hidden = app.insert_merchant(other.id, "pending", "museum", "anci");
    app.get(&format!("/merchants/{hidden}/orders"), Some(&buyer.token))
        .await
        .expect(404, Some("not_found"));
    let none = app
        .get(&format!("/merchants/{hidden}/orders"), Some(&other.token))
        .await;
    assert_eq!(none.expect(200, None)["items"], json!([]));
}

#[tokio::test]
async fn one_voucher_in_ten_parallel_orders_is_used_once() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(100)).await;
    let (buyer, voucher) = app.buyer(&shop).await;
    let attempts = (0..10).map(|_| app.order(&buyer.token, shop.offer_id, 1, Some(voucher)));
    let results = join_all(attempts).await;
    let created: Vec<_> = results.iter().filter(|r| r.status == 201).collect();
    assert_eq!(
        created.len(),
        1,
        "{:?}",
        results.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    for r in results.iter().filter(|r| r.status != 201) {
        r.expect(409, Some("voucher_unavailable"));
    }
    assert_eq!(app.offer_stock(shop.offer_id), Some(99));
    check_invariants(&mut app.db(), &HashMap::from([(shop.offer_id, 100)]));
}

#[tokio::test]
async fn twenty_buyers_share_a_stock_of_five() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(5)).await;
    let mut buyers = Vec::new();
    for _ in 0..20 {
        buyers.push(app.buyer(&shop).await);
    }
    let attempts = buyers
        .iter()
        .map(|(buyer, voucher)| app.order(&buyer.token, shop.offer_id, 1, Some(*voucher)));
    let results = join_all(attempts).await;
    assert_eq!(results.iter().filter(|r| r.status == 201).count(), 5);
    for r in results.iter().filter(|r| r.status != 201) {
        r.expect(409, Some("out_of_stock"));
    }
    assert_eq!(app.offer_stock(shop.offer_id), Some(0));
    check_invariants(&mut app.db(), &HashMap::from([(shop.offer_id, 5)]));
}

#[tokio::test]
async fn pay_cancel_and_refund_racing_on_one_order_leave_one_winner() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(50)).await;
    let (buyer, _) = app.buyer(&shop).await;
    let mut cancel_won = 0;
    let mut pay_won = 0;
    for round in 0..8 {
        let voucher = app.insert_voucher(shop.batch_id, buyer.id);
        let id = app.order_id(&buyer.token, shop.offer_id, 2, Some(voucher)).await;
        // Interleave so that neither move is always first in line.
        let moves: Vec<&str> = if round % 2 == 0 {
            vec!["pay", "cancel", "refund", "pay", "cancel", "refund"]
        } else {
            vec!["cancel", "pay", "refund", "cancel", "pay", "refund"]
        };
        let paths: Vec<String> = moves.iter().map(|m| format!("/orders/{id}/{m}")).collect();
        let calls = paths.iter().map(|p| app.action(p, Some(&buyer.token)));
        let results = join_all(calls).await;
        let won = |name: &str| {
            moves
                .iter()
                .zip(&results)
                .filter(|(m, r)| **m == name && r.status == 200)
                .count()
        };
        for r in results.iter().filter(|r| r.status != 200) {
            r.expect(409, Some("invalid_state"));
        }
        let (pays, cancels, refunds) = (won("pay"), won("cancel"), won("refund"));
        assert_eq!(pays + cancels, 1, "exactly one of pay and cancel wins");
        assert!(refunds <= pays, "a refund only follows a payment");
        let order = app.get(&format!("/orders/{id}"), Some(&buyer.token)).await;
        let status = order.expect(200, None)["status"].as_str().expect("status").to_owned();
        let voucher_status = app.voucher_state(voucher).0;
        match (cancels, refunds) {
            (1, _) => {
                cancel_won += 1;
                assert_eq!((status.as_str(), voucher_status.as_str()), ("cancelled", "available"));
            }
            (_, 1) => {
                pay_won += 1;
                assert_eq!((status.as_str(), voucher_status.as_str()), ("refunded", "void"));
            }
            _ => {
                pay_won += 1;
                assert_eq!((status.as_str(), voucher_status.as_str()), ("paid", "used"));
            }
        }
        check_invariants(&mut app.db(), &HashMap::from([(shop.offer_id, 50)]));
    }
    assert_eq!(cancel_won + pay_won, 8);
}

#[tokio::test]
async fn redemption_and_refund_racing_leave_one_winner() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(20)).await;
    let buyer = app.resident().await;
    for _ in 0..4 {
        let voucher = app.insert_voucher(shop.batch_id, buyer.id);
        let (id, code) = app.paid_order(&buyer.token, shop.offer_id, Some(voucher)).await;
        let path = format!("/merchants/{}/redemptions", shop.merchant_id);
        let refund_path = format!("/orders/{id}/refund");
        let (redeemed, refunded) = tokio::join!(
            app.post(&path, Some(&shop.owner.token), json!({"code": code})),
            app.action(&refund_path, Some(&buyer.token)),
        );
        assert_eq!(
            [redeemed.status, refunded.status].iter().filter(|s| **s == 200).count(),
            1,
            "{} / {}",
            redeemed.text,
            refunded.text
        );
        check_invariants(&mut app.db(), &HashMap::from([(shop.offer_id, 20)]));
    }
}
