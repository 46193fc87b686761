//! What the merchants' console at `/merchant` stands on: its embedded page, and
//! the API calls added for it — the caller's merchants with roles, a merchant's
//! members for its owner, all of a merchant's offers for its members, a
//! statement's CSV for its merchant's members — plus redemption refusals a clerk
//! can act on, in Chinese under `Accept-Language: zh-CN`.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{Resp, TestApp};
use crate::statement_fixtures::{at, close_through, insert_redeemed, insert_resident};

#[tokio::test]
async fn the_console_page_and_its_assets_are_served_under_the_strict_policy() {
    let app = TestApp::spawn().await;
    for (path, content_type, marker) in [
        ("/merchant", "text/html; charset=utf-8", "/merchant/app.js"),
        ("/merchant/", "text/html; charset=utf-8", "商户专用"),
        ("/merchant/app.js", "text/javascript; charset=utf-8", "/me/merchants"),
        ("/merchant/app.css", "text/css; charset=utf-8", ".code-input"),
    ] {
        let resp = app.get_root(path, None).await;
        assert_eq!(resp.status, 200, "{path}");
        assert_eq!(resp.content_type(), content_type, "{path}");
        assert!(resp.text.contains(marker), "{path} should contain {marker}");
        assert_eq!(resp.headers["cache-control"], "no-cache", "{path}");
        let csp = resp.headers["content-security-policy"].to_str().expect("ascii");
        assert!(csp.starts_with("default-src 'none'; script-src 'self'"), "{csp}");
        assert!(resp.headers.contains_key("etag"), "{path}");
    }
    // Nothing is fetched from elsewhere and nothing runs inline.
    let page = app.get_root("/merchant", None).await;
    for external in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
        assert!(!page.text.contains(external), "{external}");
    }
    assert!(!page.text.contains("<script>"));
    assert_ne!(page.headers["etag"], app.get_root("/admin", None).await.headers["etag"]);
    app.get_root("/merchant/nothing.js", None)
        .await
        .expect(404, Some("not_found"));
}

fn items(resp: &Resp) -> Vec<Value> {
    resp.expect(200, None)["items"].as_array().expect("items").clone()
}

#[tokio::test]
async fn my_merchants_lists_each_membership_with_its_role_whatever_the_status() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.resident().await;
    let other_owner = app.resident().await;
    let first = app.approved_merchant(&admin, &owner, 1).await;
    let pending = app.pending_merchant(&owner, 2).await;
    let staffed = app.approved_merchant(&admin, &other_owner, 3).await;
    app.add_staff(&other_owner, staffed, &owner).await.expect(200, None);

    let mine = items(&app.get("/me/merchants", Some(&owner.token)).await);
    let seen: Vec<(i64, &str, &str)> = mine
        .iter()
        .map(|m| {
            (
                m["merchant"]["id"].as_i64().expect("id"),
                m["role"].as_str().expect("role"),
                m["merchant"]["status"].as_str().expect("status"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (staffed, "staff", "approved"),
            (pending, "owner", "pending"),
            (first, "owner", "approved")
        ]
    );
    // Pages follow the cursor without repeats.
    let page = app.get("/me/merchants?limit=2", Some(&owner.token)).await;
    let cursor = page.expect(200, None)["next_cursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    let rest = items(
        &app.get(&format!("/me/merchants?limit=2&cursor={cursor}"), Some(&owner.token))
            .await,
    );
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["merchant"]["id"], first);

    // Someone who belongs nowhere, and an admin, get an empty list: the console
    // shows them "merchants only".
    let resident = app.resident().await;
    assert!(items(&app.get("/me/merchants", Some(&resident.token)).await).is_empty());
    assert!(items(&app.get("/me/merchants", Some(&admin.token)).await).is_empty());
    app.get("/me/merchants", None).await.expect(401, Some("unauthorized"));
    app.get("/me/merchants?limit=0", Some(&owner.token))
        .await
        .expect(422, Some("validation_failed"));
}

#[tokio::test]
async fn the_owner_lists_the_members_and_nobody_else_may() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.resident().await;
    let staff = app.resident().await;
    let merchant = app.approved_merchant(&admin, &owner, 1).await;
    app.add_staff(&owner, merchant, &staff).await.expect(200, None);

    let members = items(
        &app.get(&format!("/merchants/{merchant}/staff"), Some(&owner.token))
            .await,
    );
    let seen: Vec<(i64, &str, &str)> = members
        .iter()
        .map(|m| {
            (
                m["user_id"].as_i64().expect("user id"),
                m["role"].as_str().expect("role"),
                m["phone"].as_str().expect("phone"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (staff.id, "staff", staff.phone.as_str()),
            (owner.id, "owner", owner.phone.as_str())
        ]
    );
    assert!(members
        .iter()
        .all(|m| m["joined_at"].is_string() && m["display_name"].is_string()));

    let stranger = app.resident().await;
    for who in [&staff, &stranger, &admin] {
        app.get(&format!("/merchants/{merchant}/staff"), Some(&who.token))
            .await
            .expect(403, Some("forbidden"));
    }
    // A merchant that is not approved stays invisible to strangers.
    let pending = app.pending_merchant(&owner, 2).await;
    app.get(&format!("/merchants/{pending}/staff"), Some(&stranger.token))
        .await
        .expect(404, Some("not_found"));
    assert_eq!(
        items(
            &app.get(&format!("/merchants/{pending}/staff"), Some(&owner.token))
                .await
        )
        .len(),
        1
    );
    // Once removed, staff leave the list.
    app.delete(&format!("/merchants/{merchant}/staff/{}", staff.id), Some(&owner.token))
        .await
        .expect(204, None);
    let after = items(
        &app.get(&format!("/merchants/{merchant}/staff"), Some(&owner.token))
            .await,
    );
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["user_id"], owner.id);
}

#[tokio::test]
async fn members_see_every_offer_of_their_merchant_inactive_ones_included() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.resident().await;
    let staff = app.resident().await;
    let merchant = app.approved_merchant(&admin, &owner, 1).await;
    app.add_staff(&owner, merchant, &staff).await.expect(200, None);
    let on = app.offer(&owner, merchant, "话剧票").await;
    let off = app.offer(&owner, merchant, "旧版导览").await;
    app.patch(
        &format!("/offers/{off}"),
        Some(&owner.token),
        json!({"status": "inactive"}),
    )
    .await
    .expect(200, None);
    let other_owner = app.resident().await;
    let other = app.approved_merchant(&admin, &other_owner, 2).await;
    app.offer(&other_owner, other, "别家的票").await;

    for who in [&owner, &staff] {
        let listed = items(
            &app.get(&format!("/merchants/{merchant}/offers"), Some(&who.token))
                .await,
        );
        let seen: Vec<(i64, &str)> = listed
            .iter()
            .map(|o| (o["id"].as_i64().expect("id"), o["status"].as_str().expect("status")))
            .collect();
        assert_eq!(seen, vec![(off, "inactive"), (on, "active")]);
    }
    // The public catalog shows only the active one.
    let catalog = items(&app.get(&format!("/offers?merchant_id={merchant}"), None).await);
    assert_eq!(catalog.len(), 1);

    let stranger = app.resident().await;
    for who in [&stranger, &admin] {
        app.get(&format!("/merchants/{merchant}/offers"), Some(&who.token))
            .await
            .expect(403, Some("forbidden"));
    }
    app.get("/merchants/999999/offers", Some(&owner.token))
        .await
        .expect(404, Some("not_found"));
    let one = app
        .get(&format!("/merchants/{merchant}/offers?limit=1"), Some(&owner.token))
        .await;
    assert!(one.expect(200, None)["next_cursor"].is_string());
}

#[tokio::test]
async fn members_download_their_statement_csv_byte_for_byte_as_admins_do() {
    let app = TestApp::spawn().await;
    let a = app.shop(None).await;
    let b = app.shop(None).await;
    let staff = app.resident().await;
    app.add_staff(&a.owner, a.merchant_id, &staff).await.expect(200, None);
    let mut conn = app.db();
    for (i, shop) in [&a, &b].into_iter().enumerate() {
        let user = insert_resident(&mut conn, i as u64 + 1);
        insert_redeemed(&mut conn, shop, user, 15_000, at("2026-11-20", 3, 0, 0));
    }
    close_through(&mut conn, "2026-11-20");
    let own = items(
        &app.get(&format!("/merchants/{}/statements", a.merchant_id), Some(&staff.token))
            .await,
    );
    let statement = own[0]["id"].as_i64().expect("statement id");
    let path = format!("/merchants/{}/statements/{statement}.csv", a.merchant_id);

    let admin_csv = app
        .get(&format!("/admin/statements/{statement}.csv"), Some(&a.admin.token))
        .await;
    for who in [&a.owner, &staff] {
        let csv = app.get(&path, Some(&who.token)).await;
        assert_eq!(csv.status, 200, "{}", csv.text);
        assert!(csv.content_type().starts_with("text/csv"));
        assert_eq!(csv.text, admin_csv.text);
        assert_eq!(
            hex::encode(Sha256::digest(csv.text.as_bytes())),
            own[0]["digest"].as_str().expect("digest")
        );
        assert!(csv.headers["content-disposition"]
            .to_str()
            .expect("ascii")
            .contains(&format!("statement-{statement}-2026-11-20.csv")));
    }
    // Another merchant's members, and this statement under another merchant's
    // path, find nothing.
    app.get(&path, Some(&b.owner.token))
        .await
        .expect(404, Some("not_found"));
    app.get(
        &format!("/merchants/{}/statements/{statement}.csv", b.merchant_id),
        Some(&b.owner.token),
    )
    .await
    .expect(404, Some("not_found"));
    let stranger = app.resident().await;
    app.get(&path, Some(&stranger.token))
        .await
        .expect(404, Some("not_found"));
    app.get(&path, None).await.expect(401, Some("unauthorized"));
}

async fn redeem_zh(app: &TestApp, merchant_id: i64, token: &str, code: &str) -> Resp {
    app.send(
        app.client
            .post(app.url(&format!("/merchants/{merchant_id}/redemptions")))
            .bearer_auth(token)
            .header("Accept-Language", "zh-CN")
            .json(&json!({ "code": code })),
    )
    .await
}

#[tokio::test]
async fn a_refused_redemption_says_why_in_chinese() {
    let app = TestApp::spawn().await;
    let shop = app.shop(None).await;
    let other = app.shop(None).await;
    let (buyer, _) = app.buyer(&shop).await;
    let (_, redeemed_code) = app.paid_order(&buyer.token, shop.offer_id, None).await;
    redeem_zh(&app, shop.merchant_id, &shop.owner.token, &redeemed_code)
        .await
        .expect(200, None);
    let (refunded, refunded_code) = app.paid_order(&buyer.token, shop.offer_id, None).await;
    app.action(&format!("/orders/{refunded}/refund"), Some(&buyer.token))
        .await
        .expect(200, None);
    let (other_buyer, _) = app.buyer(&other).await;
    let (_, other_code) = app.paid_order(&other_buyer.token, other.offer_id, None).await;

    for (code, status, problem, title, detail) in [
        (
            redeemed_code.as_str(),
            409,
            "already_redeemed",
            "订单已核销",
            "该订单已核销",
        ),
        (
            refunded_code.as_str(),
            409,
            "invalid_state",
            "当前状态不允许此操作",
            "该订单已退款，不能核销",
        ),
        (
            other_code.as_str(),
            404,
            "not_found",
            "未找到",
            "本商户没有使用此核销码的订单",
        ),
        (
            "000000000000",
            404,
            "not_found",
            "未找到",
            "本商户没有使用此核销码的订单",
        ),
    ] {
        let resp = redeem_zh(&app, shop.merchant_id, &shop.owner.token, code).await;
        let body = resp.expect(status, Some(problem));
        assert_eq!(body["title"], title, "{code}");
        assert!(
            body["detail"].as_str().expect("detail").starts_with(detail),
            "{code}: {body}"
        );
    }
    // The other merchant's code still redeems where it belongs.
    redeem_zh(&app, other.merchant_id, &other.owner.token, &other_code)
        .await
        .expect(200, None);
}
