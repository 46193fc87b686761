//! Offers: create and patch by the owner, the public catalog, search and paging.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::merchants_fixtures::{application, enc, ids};

#[tokio::test]
async fn the_owner_creates_an_offer_of_an_approved_merchant() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.resident().await;
    let id = app.approved_merchant(&admin, &owner, 1).await;
    let offer = app
        .offer_with(&owner, id, json!({"title": "  话剧《茶馆》门票  ", "price_fen": 18000}))
        .await;
    let mut keys: Vec<&str> = offer.as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_at",
            "description",
            "id",
            "merchant_id",
            "price_fen",
            "status",
            "stock",
            "title"
        ]
    );
    assert_eq!(offer["merchant_id"], id);
    assert_eq!(offer["title"], "话剧《茶馆》门票");
    assert_eq!(offer["description"], "");
    assert_eq!(offer["price_fen"], 18000);
    assert_eq!(offer["stock"], Value::Null, "omitted stock is unlimited");
    assert_eq!(offer["status"], "active");
    let with_stock = app
        .offer_with(
            &owner,
            id,
            json!({"title": "t", "description": "d", "price_fen": 1, "stock": 0}),
        )
        .await;
    assert_eq!(with_stock["stock"], 0);
    let null_stock = app
        .offer_with(
            &owner,
            id,
            json!({"title": "t", "price_fen": 100_000_000, "stock": null}),
        )
        .await;
    assert_eq!(null_stock["stock"], Value::Null);
    let shown = app.get(&format!("/offers/{}", offer["id"]), None).await;
    assert_eq!(shown.expect(200, None), &offer);
}

#[tokio::test]
async fn offer_bodies_are_validated() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.resident().await;
    let id = app.approved_merchant(&admin, &owner, 1).await;
    let path = format!("/merchants/{id}/offers");
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({}), vec!["price_fen", "title"]),
        (json!({"title": " ", "price_fen": 1}), vec!["title"]),
        (json!({"title": "题".repeat(101), "price_fen": 1}), vec!["title"]),
        (
            json!({"title": "t", "description": "述".repeat(2001), "price_fen": 1}),
            vec!["description"],
        ),
        (json!({"title": "t", "price_fen": 0}), vec!["price_fen"]),
        (json!({"title": "t", "price_fen": 100_000_001}), vec!["price_fen"]),
        (json!({"title": "t", "price_fen": 12.5}), vec!["price_fen"]),
        (json!({"title": "t", "price_fen": "100"}), vec!["price_fen"]),
        (json!({"title": "t", "price_fen": 1, "stock": -1}), vec!["stock"]),
        (
            json!({"title": "t", "price_fen": 1, "stock": 10_000_001}),
            vec!["stock"],
        ),
        (
            json!({"title": "t", "price_fen": 1, "status": "inactive"}),
            vec!["status"],
        ),
        (
            json!({"title": "t", "price_fen": 1, "merchant_id": 2}),
            vec!["merchant_id"],
        ),
    ];
    for (body, fields) in cases {
        let resp = app.post(&path, Some(&owner.token), body.clone()).await;
        resp.expect(422, Some("validation_failed"));
        assert_eq!(resp.error_fields(), fields, "{body}");
    }
    app.offer_with(
        &owner,
        id,
        json!({"title": "t", "description": "述".repeat(2000), "price_fen": 1}),
    )
    .await;
}

#[tokio::test]
async fn only_the_owner_of_an_approved_merchant_creates_offers() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (owner, staff, stranger) = (app.resident().await, app.resident().await, app.resident().await);
    let id = app.approved_merchant(&admin, &owner, 1).await;
    app.add_staff(&owner, id, &staff).await.expect(200, None);
    let path = format!("/merchants/{id}/offers");
    let body = json!({"title": "t", "price_fen": 100});
    app.post(&path, None, body.clone())
        .await
        .expect(401, Some("unauthorized"));
    app.post(&path, Some(&stranger.token), body.clone())
        .await
        .expect(403, Some("forbidden"));
    app.post(&path, Some(&staff.token), body.clone())
        .await
        .expect(403, Some("forbidden"));
    app.post(&path, Some(&admin.token), body.clone())
        .await
        .expect(403, Some("forbidden"));
    app.post("/merchants/999999/offers", Some(&owner.token), body.clone())
        .await
        .expect(404, Some("not_found"));

    // Not approved: the owner gets 409, a stranger 404.
    let pending = app.pending_merchant(&owner, 2).await;
    let pending_path = format!("/merchants/{pending}/offers");
    app.post(&pending_path, Some(&owner.token), body.clone())
        .await
        .expect(409, Some("merchant_not_approved"));
    app.post(&pending_path, Some(&stranger.token), body.clone())
        .await
        .expect(404, Some("not_found"));
    app.suspend_merchant(&admin, id, "停业整顿").await.expect(200, None);
    app.post(&path, Some(&owner.token), body.clone())
        .await
        .expect(409, Some("merchant_not_approved"));
    app.post(&path, Some(&stranger.token), body)
        .await
        .expect(404, Some("not_found"));
    assert!(app.walk("/offers", None).await.is_empty());
}

#[tokio::test]
async fn the_owner_patches_an_offer() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.resident().await;
    let id = app.approved_merchant(&admin, &owner, 1).await;
    let offer = app
        .offer_with(
            &owner,
            id,
            json!({"title": "Old Title", "description": "旧描述", "price_fen": 100, "stock": 5}),
        )
        .await;
    let path = format!("/offers/{}", offer["id"]);
    let t = Some(owner.token.as_str());

    let same = app.patch(&path, t, json!({})).await;
    assert_eq!(same.expect(200, None), &offer, "an empty patch changes nothing");
    let patched = app
        .patch(&path, t, json!({"title": " New Title ", "price_fen": 250}))
        .await;
    let patched = patched.expect(200, None);
    assert_eq!(patched["title"], "New Title");
    assert_eq!(patched["description"], "旧描述", "absent fields are kept");
    assert_eq!(patched["price_fen"], 250);
    assert_eq!(patched["stock"], 5);
    assert_eq!(patched["created_at"], offer["created_at"]);
    // Search follows the new title and the kept description.
    assert_eq!(
        ids(&app.walk("/offers?q=new", None).await),
        [offer["id"].as_i64().expect("id")]
    );
    assert!(app.walk("/offers?q=old", None).await.is_empty());
    assert_eq!(app.walk(&format!("/offers?q={}", enc("旧描述")), None).await.len(), 1);

    let unlimited = app
        .patch(&path, t, json!({"stock": null, "description": "新描述"}))
        .await;
    assert_eq!(unlimited.expect(200, None)["stock"], Value::Null);
    assert!(app.walk(&format!("/offers?q={}", enc("旧描述")), None).await.is_empty());
    assert_eq!(app.walk(&format!("/offers?q={}", enc("新描述")), None).await.len(), 1);
    let emptied = app.patch(&path, t, json!({"description": null, "stock": 0})).await;
    assert_eq!(emptied.expect(200, None)["description"], "");
    assert_eq!(emptied.body["stock"], 0);

    let inactive = app.patch(&path, t, json!({"status": "inactive"})).await;
    assert_eq!(inactive.expect(200, None)["status"], "inactive");
    assert!(app.walk("/offers", None).await.is_empty());
    app.get(&path, None).await.expect(404, Some("not_found"));
    app.get(&path, t).await.expect(200, None);
    app.get(&path, Some(&admin.token)).await.expect(200, None);
    app.patch(&path, t, json!({"status": "active"})).await.expect(200, None);
    assert_eq!(app.walk("/offers", None).await.len(), 1);

    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"title": null}), vec!["title"]),
        (json!({"title": ""}), vec!["title"]),
        (json!({"price_fen": null}), vec!["price_fen"]),
        (json!({"price_fen": 0}), vec!["price_fen"]),
        (json!({"stock": -1}), vec!["stock"]),
        (json!({"stock": 1.5}), vec!["stock"]),
        (json!({"status": null}), vec!["status"]),
        (json!({"status": "deleted"}), vec!["status"]),
        (json!({"merchant_id": 5}), vec!["merchant_id"]),
        (
            json!({"title": null, "status": "x", "created_at": "now"}),
            vec!["created_at", "status", "title"],
        ),
    ];
    for (body, fields) in cases {
        let resp = app.patch(&path, t, body.clone()).await;
        resp.expect(422, Some("validation_failed"));
        assert_eq!(resp.error_fields(), fields, "{body}");
    }
    app.patch("/offers/999999", t, json!({"title": "x"}))
        .await
        .expect(404, Some("not_found"));
}

#[tokio::test]
async fn only_the_owner_patches_offers() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (owner, staff, stranger) = (app.resident().await, app.resident().await, app.resident().await);
    let id = app.approved_merchant(&admin, &owner, 1).await;
    app.add_staff(&owner, id, &staff).await.expect(200, None);
    let offer = app.offer(&owner, id, "t").await;
    let path = format!("/offers/{offer}");
    let body = json!({"price_fen": 1});
    app.patch(&path, None, body.clone())
        .await
        .expect(401, Some("unauthorized"));
    app.patch(&path, Some(&staff.token), body.clone())
        .await
        .expect(403, Some("forbidden"));
    app.patch(&path, Some(&stranger.token), body.clone())
        .await
        .expect(403, Some("forbidden"));
    app.patch(&path, Some(&admin.token), body.clone())
        .await
        .expect(403, Some("forbidden"));
    // A hidden offer is 404 to a stranger, 403 to staff.
    app.patch(&path, Some(&owner.token), json!({"status": "inactive"}))
        .await
        .expect(200, None);
    app.patch(&path, Some(&stranger.token), body.clone())
        .await
        .expect(404, Some("not_found"));
    app.patch(&path, Some(&staff.token), body.clone())
        .await
        .expect(403, Some("forbidden"));
    // A suspended merchant's offers cannot be changed.
    app.suspend_merchant(&admin, id, "r").await.expect(200, None);
    app.patch(&path, Some(&owner.token), body.clone())
        .await
        .expect(409, Some("merchant_not_approved"));
    let offer = app.get(&path, Some(&owner.token)).await;
    assert_eq!(offer.expect(200, None)["price_fen"], 5000, "nothing changed");
}

#[tokio::test]
async fn a_suspended_merchants_offers_leave_the_catalog() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (owner, staff, stranger) = (app.resident().await, app.resident().await, app.resident().await);
    let id = app.approved_merchant(&admin, &owner, 1).await;
    app.add_staff(&owner, id, &staff).await.expect(200, None);
    let other = app.approved_merchant(&admin, &stranger, 2).await;
    let offer = app.offer(&owner, id, "a").await;
    let kept = app.offer(&stranger, other, "b").await;
    assert_eq!(ids(&app.walk("/offers", None).await), [kept, offer]);

    app.suspend_merchant(&admin, id, "r").await.expect(200, None);
    let path = format!("/offers/{offer}");
    assert_eq!(ids(&app.walk("/offers", None).await), [kept]);
    assert_eq!(
        ids(&app.walk(&format!("/offers?merchant_id={id}"), None).await),
        Vec::<i64>::new()
    );
    app.get(&path, None).await.expect(404, Some("not_found"));
    app.get(&path, Some(&stranger.token))
        .await
        .expect(404, Some("not_found"));
    app.get(&path, Some(&owner.token)).await.expect(200, None);
    app.get(&path, Some(&staff.token)).await.expect(200, None);
    app.get(&path, Some(&admin.token)).await.expect(200, None);

    app.post(
        &format!("/admin/merchants/{id}/reinstate"),
        Some(&admin.token),
        json!({"reason": "整改完成"}),
    )
    .await
    .expect(200, None);
    app.get(&path, None).await.expect(200, None);
    assert_eq!(ids(&app.walk("/offers", None).await), [kept, offer]);
    app.get("/offers/999999", None).await.expect(404, Some("not_found"));
    app.get("/offers/x", None).await.expect(404, Some("not_found"));
}

#[tokio::test]
async fn the_catalog_filters_by_category_district_and_merchant() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.resident().await;
    let bookshop = app.approved_merchant(&admin, &owner, 1).await; // bookstore, guangyang
    let mut body = application(2);
    body["category"] = json!("museum");
    body["district"] = json!("bazhou");
    let museum = app.approved_merchant_with(&admin, &owner, body).await;
    let b1 = app.offer(&owner, bookshop, "书1").await;
    let m1 = app.offer(&owner, museum, "馆1").await;
    let b2 = app.offer(&owner, bookshop, "书2").await;

    let listed = |q: String| {
        let app = &app;
        async move { ids(&app.walk(&format!("/offers{q}"), None).await) }
    };
    assert_eq!(listed(String::new()).await, [b2, m1, b1]);
    assert_eq!(listed("?category=bookstore".into()).await, [b2, b1]);
    assert_eq!(listed("?district=bazhou".into()).await, [m1]);
    assert_eq!(listed(format!("?merchant_id={bookshop}")).await, [b2, b1]);
    assert_eq!(listed(format!("?merchant_id={museum}&category=museum")).await, [m1]);
    assert_eq!(
        listed(format!("?merchant_id={museum}&district=guangyang")).await,
        Vec::<i64>::new()
    );
    assert_eq!(listed("?merchant_id=999999".into()).await, Vec::<i64>::new());
    for bad in [
        "category=casino",
        "district=x",
        "merchant_id=abc",
        "limit=0",
        "limit=abc",
        "cursor=zz",
    ] {
        app.get(&format!("/offers?{bad}"), None)
            .await
            .expect(422, Some("validation_failed"));
    }
    // Unknown parameters are ignored.
    assert_eq!(listed("?colour=red".into()).await, [b2, m1, b1]);
}

#[tokio::test]
async fn search_matches_title_or_description_literally() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.resident().await;
    let id = app.approved_merchant(&admin, &owner, 1).await;
    let offer = |title: &str, description: &str| {
        app.offer_with(
            &owner,
            id,
            json!({"title": title, "description": description, "price_fen": 100}),
        )
    };
    let bookshop = offer("新华书店购书券", "").await["id"].as_i64().expect("id");
    let percent = offer("Cinema Ticket", "周末 50% off").await["id"].as_i64().expect("id");
    let underscore = offer("snake_case 工作坊", "").await["id"].as_i64().expect("id");
    let quote = offer("O'Brien's Pub", "say \"hi\"").await["id"].as_i64().expect("id");
    let backslash = offer("path C:\\museum", "").await["id"].as_i64().expect("id");
    let plain = offer("Plain 50 off", "").await["id"].as_i64().expect("id");

    let search = |q: &str| {
        let path = format!("/offers?q={}", enc(q));
        let app = &app;
        async move {
            let mut found = ids(&app.walk(&path, None).await);
            found.sort_unstable();
            found
        }
    };
    assert_eq!(search("书店").await, [bookshop]);
    assert_eq!(search("cinema").await, [percent], "case-insensitive");
    assert_eq!(search("TICKET").await, [percent]);
    assert_eq!(search("周末").await, [percent], "matches the description");
    assert_eq!(search("%").await, [percent], "% is literal");
    assert_eq!(search("50%").await, [percent]);
    assert_eq!(search("_").await, [underscore], "_ is literal");
    assert_eq!(search("e_c").await, [underscore]);
    assert_eq!(search("'").await, [quote]);
    assert_eq!(search("\"hi\"").await, [quote]);
    assert_eq!(search("\\").await, [backslash]);
    assert_eq!(search("c:\\m").await, [backslash]);
    assert_eq!(search("' OR 1=1 --").await, Vec::<i64>::new());
    assert_eq!(search("'; DROP TABLE offers; --").await, Vec::<i64>::new());
    assert_eq!(search("%' OR '1'='1").await, Vec::<i64>::new());
    let mut all = vec![bookshop, percent, underscore, quote, backslash, plain];
    all.sort_unstable();
    assert_eq!(search("").await, all, "empty q matches everything");
    assert_eq!(search("   ").await, all);
    // The table is still there.
    assert_eq!(app.walk("/offers", None).await.len(), 6);
    let long = "票".repeat(101);
    app.get(&format!("/offers?q={}", enc(&long)), None)
        .await
        .expect(422, Some("validation_failed"));
    app.get(&format!("/offers?q={}", enc(&"票".repeat(100))), None)
        .await
        .expect(200, None);
}

#[tokio::test]
async fn walking_the_catalog_sees_every_offer_once_while_offers_are_added() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.resident().await;
    let id = app.approved_merchant(&admin, &owner, 1).await;
    let mut existing = Vec::new();
    for i in 0..23 {
        existing.push(app.offer(&owner, id, &format!("offer {i}")).await);
    }
    // Unpaged walk.
    let mut all = ids(&app.walk("/offers?limit=5", None).await);
    assert_eq!(all, existing.iter().rev().copied().collect::<Vec<_>>());

    // A walk with new offers inserted before each page request.
    let mut seen = Vec::new();
    let mut added = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        added.push(app.offer(&owner, id, "new while paging").await);
        let path = match &cursor {
            Some(c) => format!("/offers?limit=4&cursor={c}"),
            None => "/offers?limit=4".to_owned(),
        };
        let page = app.get(&path, None).await;
        let page = page.expect(200, None);
        seen.extend(ids(page["items"].as_array().expect("items")));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no offer twice: {seen:?}");
    for offer in &existing {
        assert!(seen.contains(offer), "offer {offer} missed");
    }
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first");
    // Only the offer added before the first page can show up among the new ones.
    let new_seen: Vec<_> = seen.iter().filter(|o| added.contains(o)).collect();
    assert_eq!(new_seen, [&added[0]]);
    all.sort_unstable();
    assert_eq!(all.len(), 23);
}
