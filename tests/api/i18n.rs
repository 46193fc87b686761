//! Problem details in the caller's language: under `Accept-Language: zh-CN` every
//! code answers a Chinese title (and its detail and field messages in Chinese),
//! English otherwise, and the `code` is the same either way.

use serde_json::{json, Value};

use crate::helpers::{Resp, TestApp};

fn has_chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// Sends `request` in Chinese and in English; checks both and returns the code.
async fn both_languages(app: &TestApp, request: impl Fn() -> reqwest::RequestBuilder, status: u16, code: &str) -> Resp {
    let zh = app
        .send(request().header("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8"))
        .await;
    zh.expect(status, Some(code));
    let title = zh.body["title"].as_str().unwrap_or_default();
    let detail = zh.body["detail"].as_str().unwrap_or_default();
    assert!(has_chinese(title), "{code}: title {title:?} is not Chinese");
    assert!(has_chinese(detail), "{code}: detail {detail:?} is not Chinese");
    assert_eq!(
        Some(title),
        wenlv::error::i18n::title_zh(code),
        "{code}: the title is the code's"
    );
    let en = app
        .send(request().header("Accept-Language", "en-US,en;q=0.9,zh;q=0.5"))
        .await;
    en.expect(status, Some(code));
    assert!(
        !has_chinese(&en.text),
        "{code}: English answer has Chinese: {}",
        en.text
    );
    let bare = app.send(request()).await;
    bare.expect(status, Some(code));
    assert!(!has_chinese(&bare.text), "{code}: no header should mean English");
    zh
}

#[tokio::test]
async fn documented_codes_answer_in_chinese_under_zh_cn() {
    let app = TestApp::spawn().await;
    let shop = app.shop(Some(10)).await;
    let (buyer, voucher) = app.buyer(&shop).await;
    let (order_id, code) = app.paid_order(&buyer.token, shop.offer_id, Some(voucher)).await;
    let redeem = format!("/merchants/{}/redemptions", shop.merchant_id);
    app.post(&redeem, Some(&shop.owner.token), json!({"code": code}))
        .await
        .expect(200, None);
    let c = &app.client;
    let url = |p: &str| app.url(p);

    both_languages(&app, || c.get(url("/no/such/thing")), 404, "not_found").await;
    both_languages(&app, || c.get(url("/auth/login")), 405, "method_not_allowed").await;
    both_languages(
        &app,
        || {
            c.post(url("/auth/register"))
                .header("content-type", "application/json")
                .body("{")
        },
        400,
        "malformed_request",
    )
    .await;
    both_languages(
        &app,
        || {
            c.post(url("/auth/register"))
                .header("content-type", "text/plain")
                .body("{}")
        },
        415,
        "unsupported_media_type",
    )
    .await;
    both_languages(
        &app,
        || {
            c.post(url("/auth/register"))
                .header("content-type", "application/json")
                .body(vec![b' '; 1_100_000])
        },
        413,
        "payload_too_large",
    )
    .await;
    let invalid = both_languages(
        &app,
        || c.post(url("/auth/register")).json(&json!({"phone": "1", "extra": 1})),
        422,
        "validation_failed",
    )
    .await;
    for (field, messages) in invalid.body["errors"].as_object().expect("errors") {
        for message in messages.as_array().expect("messages") {
            let text = message.as_str().unwrap_or_default();
            assert!(has_chinese(text), "{field}: {text:?} is not Chinese");
        }
    }
    both_languages(&app, || c.get(url("/me")), 401, "unauthorized").await;
    both_languages(
        &app,
        || {
            c.post(url("/auth/login"))
                .json(&json!({"phone": buyer.phone, "password": "wrong-password"}))
        },
        401,
        "invalid_credentials",
    )
    .await;
    both_languages(
        &app,
        || c.get(url("/admin/merchants")).bearer_auth(&buyer.token),
        403,
        "forbidden",
    )
    .await;
    both_languages(
        &app,
        || {
            c.post(url("/auth/register"))
                .json(&json!({"phone": buyer.phone, "password": "12345678", "display_name": "x"}))
        },
        409,
        "phone_taken",
    )
    .await;
    both_languages(
        &app,
        || {
            c.post(url(&redeem))
                .bearer_auth(&shop.owner.token)
                .json(&json!({"code": code}))
        },
        409,
        "already_redeemed",
    )
    .await;
    let refund = format!("/orders/{order_id}/refund");
    let moved = both_languages(
        &app,
        || c.post(url(&refund)).bearer_auth(&buyer.token),
        409,
        "invalid_state",
    )
    .await;
    assert_eq!(moved.body["detail"], "订单状态为 redeemed，不能变为 refunded");
    let (other, _) = app.buyer(&shop).await;
    both_languages(
        &app,
        || {
            c.post(url("/orders"))
                .bearer_auth(&other.token)
                .json(&json!({"offer_id": shop.offer_id, "quantity": 11}))
        },
        409,
        "out_of_stock",
    )
    .await;
}

#[tokio::test]
async fn every_code_of_api_md_has_a_chinese_title() {
    // The spec's list of codes, as the OpenAPI document publishes it.
    let app = TestApp::spawn().await;
    let spec = app.get("/openapi.json", None).await;
    let spec: &Value = spec.ok();
    let text = spec.to_string();
    let mut checked = 0;
    for code in wenlv::error::Code::ALL {
        assert!(text.contains(code.as_str()), "{code:?} missing from the spec");
        assert!(
            wenlv::error::i18n::title_zh(code.as_str()).is_some(),
            "{code:?} has no Chinese title"
        );
        checked += 1;
    }
    assert!(checked >= 30);
}
