//! Merchant applications, visibility, the admin review, and staff.

use diesel::prelude::*;
use serde_json::{json, Value};
use wenlv::db::schema::{audit_log, merchants};

use crate::helpers::{credit_code, TestApp};
use crate::merchants_fixtures::{application, enc, ids};

const MERCHANT_FIELDS: [&str; 10] = [
    "id",
    "name",
    "license_no",
    "category",
    "district",
    "address",
    "contact_phone",
    "status",
    "review_note",
    "created_at",
];

#[tokio::test]
async fn an_application_is_pending_and_the_applicant_owns_it() {
    let app = TestApp::spawn().await;
    let owner = app.resident().await;
    let mut body = application(1);
    body["name"] = json!("  新华书店 广阳店  ");
    body["license_no"] = json!(credit_code(1).to_lowercase());
    let merchant = app.apply_with(&owner, body).await;
    let object = merchant.as_object().expect("object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = MERCHANT_FIELDS.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected, "exactly the documented fields");
    assert_eq!(merchant["status"], "pending");
    assert_eq!(merchant["name"], "新华书店 广阳店", "stored trimmed");
    assert_eq!(merchant["license_no"], credit_code(1), "stored upper-case");
    assert_eq!(merchant["review_note"], Value::Null);
    assert!(merchant["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));

    let me = app.get("/me", Some(&owner.token)).await;
    assert_eq!(me.expect(200, None)["merchant_ids"], json!([merchant["id"]]));
    assert_eq!(me.body["role"], "resident", "an owner is still a resident");
}

#[tokio::test]
async fn an_application_needs_a_signed_in_user() {
    let app = TestApp::spawn().await;
    app.post("/merchants", None, application(1))
        .await
        .expect(401, Some("unauthorized"));
}

#[tokio::test]
async fn an_application_validates_every_field() {
    let app = TestApp::spawn().await;
    let owner = app.resident().await;
    let bad_check = {
        let mut code = credit_code(1);
        let last = code.pop().expect("18 chars");
        code.push(if last == '0' { '1' } else { '0' });
        code
    };
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({}),
            vec!["address", "category", "contact_phone", "district", "license_no", "name"],
        ),
        (json!({"license_no": bad_check}), vec!["license_no"]),
        (json!({"license_no": "91131000MA000000"}), vec!["license_no"]),
        (json!({"license_no": 91131000}), vec!["license_no"]),
        (json!({"category": "casino"}), vec!["category"]),
        (json!({"district": "chaoyang"}), vec!["district"]),
        (json!({"name": "   "}), vec!["name"]),
        (json!({"name": "名".repeat(101)}), vec!["name"]),
        (json!({"address": "址".repeat(201)}), vec!["address"]),
        (json!({"contact_phone": "call me"}), vec!["contact_phone"]),
        (json!({"contact_phone": "1234"}), vec!["contact_phone"]),
        (json!({"status": "approved"}), vec!["status"]),
        (json!({"owner_id": 1}), vec!["owner_id"]),
    ];
    for (patch, fields) in cases {
        let body = if patch == json!({}) {
            patch.clone()
        } else {
            let mut body = application(1);
            for (k, v) in patch.as_object().expect("object") {
                body[k] = v.clone();
            }
            body
        };
        let resp = app.post("/merchants", Some(&owner.token), body).await;
        resp.expect(422, Some("validation_failed"));
        assert_eq!(resp.error_fields(), fields, "{patch}");
    }
    // Unknown values name the allowed ones.
    let mut body = application(1);
    body["category"] = json!("casino");
    body["district"] = json!("chaoyang");
    let resp = app.post("/merchants", Some(&owner.token), body).await;
    resp.expect(422, Some("validation_failed"));
    let category = resp.body["errors"]["category"][0].as_str().expect("message");
    assert!(
        category.contains("bookstore") && category.contains("heritage_craft"),
        "{category}"
    );
    let district = resp.body["errors"]["district"][0].as_str().expect("message");
    assert!(
        district.contains("guangyang") && district.contains("dacheng"),
        "{district}"
    );
    // Nothing was written.
    let count: i64 = merchants::table.count().get_result(&mut app.db()).expect("count");
    assert_eq!(count, 0);
}

#[tokio::test]
async fn districts_come_from_the_config() {
    let app = TestApp::spawn_with(|s| s.platform.districts = vec!["haidian".to_owned()]).await;
    let owner = app.resident().await;
    let mut body = application(1);
    body["district"] = json!("haidian");
    app.apply_with(&owner, body).await;
    let resp = app.post("/merchants", Some(&owner.token), application(2)).await;
    resp.expect(422, Some("validation_failed"));
    assert_eq!(resp.error_fields(), ["district"]);
    app.get("/merchants?district=guangyang", None)
        .await
        .expect(422, Some("validation_failed"));
}

#[tokio::test]
async fn a_credit_code_holds_one_live_merchant_and_rejection_frees_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (a, b) = (app.resident().await, app.resident().await);
    let first = app.pending_merchant(&a, 7).await;
    app.post("/merchants", Some(&b.token), application(7))
        .await
        .expect(409, Some("license_taken"));
    // The same code in lower case is the same code.
    let mut lower = application(7);
    lower["license_no"] = json!(credit_code(7).to_lowercase());
    app.post("/merchants", Some(&b.token), lower)
        .await
        .expect(409, Some("license_taken"));
    app.post(
        &format!("/admin/merchants/{first}/reject"),
        Some(&admin.token),
        json!({"reason": "证照不清晰"}),
    )
    .await
    .expect(200, None);
    let second = app.apply_with(&b, application(7)).await;
    assert_ne!(second["id"], json!(first));
}

#[tokio::test]
async fn racing_applications_with_one_code_make_one_merchant() {
    let app = TestApp::spawn().await;
    let mut users = Vec::new();
    for _ in 0..8 {
        users.push(app.resident().await);
    }
    let attempts = users
        .iter()
        .map(|u| app.post("/merchants", Some(&u.token), application(3)));
    let results = futures_util::future::join_all(attempts).await;
    let created = results.iter().filter(|r| r.status == 201).count();
    for r in results.iter().filter(|r| r.status != 201) {
        r.expect(409, Some("license_taken"));
    }
    assert_eq!(created, 1);
    let count: i64 = merchants::table.count().get_result(&mut app.db()).expect("count");
    assert_eq!(count, 1);
    // Exactly one applicant became an owner.
    let mut owners = 0;
    for u in &users {
        let me = app.get("/me", Some(&u.token)).await;
        owners += me.expect(200, None)["merchant_ids"].as_array().expect("list").len();
    }
    assert_eq!(owners, 1);
}

#[tokio::test]
async fn a_pending_merchant_is_seen_only_by_its_members_and_admins() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (owner, stranger, staff) = (app.resident().await, app.resident().await, app.resident().await);
    let id = app.pending_merchant(&owner, 1).await;
    app.add_staff(&owner, id, &staff).await.expect(200, None);
    let path = format!("/merchants/{id}");
    app.get(&path, None).await.expect(404, Some("not_found"));
    app.get(&path, Some(&stranger.token))
        .await
        .expect(404, Some("not_found"));
    assert_eq!(
        app.get(&path, Some(&owner.token)).await.expect(200, None)["status"],
        "pending"
    );
    app.get(&path, Some(&staff.token)).await.expect(200, None);
    app.get(&path, Some(&admin.token)).await.expect(200, None);
    // Every call under the merchant is 404 to the stranger, as if it did not exist.
    app.add_staff(&stranger, id, &staff)
        .await
        .expect(404, Some("not_found"));
    app.delete(&format!("/merchants/{id}/staff/{}", staff.id), Some(&stranger.token))
        .await
        .expect(404, Some("not_found"));
    app.post(
        &format!("/merchants/{id}/offers"),
        Some(&stranger.token),
        json!({"title": "t", "price_fen": 1}),
    )
    .await
    .expect(404, Some("not_found"));
    assert!(app.walk("/merchants", None).await.is_empty());

    app.action(&format!("/admin/merchants/{id}/approve"), Some(&admin.token))
        .await
        .expect(200, None);
    assert_eq!(app.get(&path, None).await.expect(200, None)["status"], "approved");
    assert_eq!(ids(&app.walk("/merchants", None).await), [id]);

    // Suspended: hidden again from strangers, still there for members.
    app.suspend_merchant(&admin, id, "违规经营").await.expect(200, None);
    app.get(&path, Some(&stranger.token))
        .await
        .expect(404, Some("not_found"));
    app.get(&path, Some(&owner.token)).await.expect(200, None);
    assert!(app.walk("/merchants", None).await.is_empty());
    // A bad id is not found.
    app.get("/merchants/abc", None).await.expect(404, Some("not_found"));
    app.get("/merchants/999999", None).await.expect(404, Some("not_found"));
}

#[tokio::test]
async fn the_public_list_filters_by_category_district_and_name() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.resident().await;
    let mut body = application(1);
    body["name"] = json!("新华书店");
    let bookshop = app.approved_merchant_with(&admin, &owner, body).await;
    let mut body = application(2);
    body["name"] = json!("Wanda CINEMA 100%");
    body["category"] = json!("cinema");
    body["district"] = json!("sanhe");
    let cinema = app.approved_merchant_with(&admin, &owner, body).await;
    app.pending_merchant(&owner, 3).await; // a pending bookshop: never listed

    assert_eq!(listed(&app, "").await, [cinema, bookshop]);
    assert_eq!(listed(&app, "?category=bookstore").await, [bookshop]);
    assert_eq!(listed(&app, "?district=sanhe").await, [cinema]);
    assert_eq!(
        listed(&app, "?category=cinema&district=guangyang").await,
        Vec::<i64>::new()
    );
    assert_eq!(listed(&app, &format!("?q={}", enc("书店"))).await, [bookshop]);
    assert_eq!(listed(&app, "?q=cinema").await, [cinema], "case-insensitive");
    assert_eq!(listed(&app, &format!("?q={}", enc("100%"))).await, [cinema]);
    assert_eq!(listed(&app, &format!("?q={}", enc("0%W"))).await, Vec::<i64>::new());
    assert_eq!(listed(&app, &format!("?q={}", enc("_"))).await, Vec::<i64>::new());
    assert_eq!(
        listed(&app, &format!("?q={}", enc("' OR 1=1 --"))).await,
        Vec::<i64>::new()
    );
    let page = app.get("/merchants?limit=1", None).await;
    assert_eq!(
        ids(page.expect(200, None)["items"].as_array().expect("items")),
        [cinema]
    );
    assert!(page.body["next_cursor"].is_string());

    for bad in [
        "category=casino",
        "district=chaoyang",
        "limit=0",
        "limit=101",
        "cursor=garbage",
    ] {
        app.get(&format!("/merchants?{bad}"), None)
            .await
            .expect(422, Some("validation_failed"));
    }
    let long = "书".repeat(101);
    app.get(&format!("/merchants?q={}", enc(&long)), None)
        .await
        .expect(422, Some("validation_failed"));
}

#[tokio::test]
async fn the_review_queue_is_oldest_first_and_other_views_newest_first() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.resident().await;
    let a = app.pending_merchant(&owner, 1).await;
    let b = app.pending_merchant(&owner, 2).await;
    let c = app.pending_merchant(&owner, 3).await;
    let d = app.approved_merchant(&admin, &owner, 4).await;
    let token = Some(admin.token.as_str());
    assert_eq!(
        ids(&app.walk("/admin/merchants?status=pending&limit=2", token).await),
        [a, b, c]
    );
    assert_eq!(ids(&app.walk("/admin/merchants?status=approved", token).await), [d]);
    assert_eq!(ids(&app.walk("/admin/merchants?limit=1", token).await), [d, c, b, a]);
    assert!(app.walk("/admin/merchants?status=rejected", token).await.is_empty());
    app.get("/admin/merchants?status=bogus", token)
        .await
        .expect(422, Some("validation_failed"));
}

#[tokio::test]
async fn a_resident_gets_403_on_every_admin_route() {
    let app = TestApp::spawn().await;
    let owner = app.resident().await;
    let id = app.pending_merchant(&owner, 1).await;
    let t = Some(owner.token.as_str());
    let reason = json!({"reason": "r"});
    app.get("/admin/merchants", t).await.expect(403, Some("forbidden"));
    app.get("/admin/audit-log", t).await.expect(403, Some("forbidden"));
    app.action(&format!("/admin/merchants/{id}/approve"), t)
        .await
        .expect(403, Some("forbidden"));
    for verb in ["reject", "suspend", "reinstate"] {
        app.post(&format!("/admin/merchants/{id}/{verb}"), t, reason.clone())
            .await
            .expect(403, Some("forbidden"));
        app.post(&format!("/admin/merchants/{id}/{verb}"), None, reason.clone())
            .await
            .expect(401, Some("unauthorized"));
    }
    app.get("/admin/merchants", None)
        .await
        .expect(401, Some("unauthorized"));
    app.get("/admin/audit-log", None)
        .await
        .expect(401, Some("unauthorized"));
    // And nothing changed.
    assert_eq!(
        app.get(&format!("/merchants/{id}"), t).await.expect(200, None)["status"],
        "pending"
    );
}

#[tokio::test]
async fn status_moves_follow_the_state_machine() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.resident().await;
    let t = Some(admin.token.as_str());
    let id = app.pending_merchant(&owner, 1).await;
    let path = |verb: &str| format!("/admin/merchants/{id}/{verb}");
    let reason = |r: &str| json!({"reason": r});

    // pending: suspend and reinstate are illegal.
    app.post(&path("suspend"), t, reason("x"))
        .await
        .expect(409, Some("invalid_state"));
    app.post(&path("reinstate"), t, reason("x"))
        .await
        .expect(409, Some("invalid_state"));
    let approved = app.action(&path("approve"), t).await;
    assert_eq!(approved.expect(200, None)["status"], "approved");
    assert_eq!(approved.body["review_note"], Value::Null);
    app.action(&path("approve"), t).await.expect(409, Some("invalid_state"));
    app.post(&path("reject"), t, reason("x"))
        .await
        .expect(409, Some("invalid_state"));
    let suspended = app.post(&path("suspend"), t, reason("  消防检查不合格  ")).await;
    assert_eq!(suspended.expect(200, None)["status"], "suspended");
    assert_eq!(suspended.body["review_note"], "消防检查不合格");
    app.post(&path("suspend"), t, reason("x"))
        .await
        .expect(409, Some("invalid_state"));
    app.action(&path("approve"), t).await.expect(409, Some("invalid_state"));
    let reinstated = app.post(&path("reinstate"), t, reason("整改完成")).await;
    assert_eq!(reinstated.expect(200, None)["status"], "approved");

    // Rejection is final.
    let other = app.pending_merchant(&owner, 2).await;
    let rejected = app
        .post(&format!("/admin/merchants/{other}/reject"), t, reason("材料不全"))
        .await;
    assert_eq!(rejected.expect(200, None)["status"], "rejected");
    assert_eq!(rejected.body["review_note"], "材料不全");
    for verb in ["approve", "reject", "suspend", "reinstate"] {
        let resp = if verb == "approve" {
            app.action(&format!("/admin/merchants/{other}/{verb}"), t).await
        } else {
            app.post(&format!("/admin/merchants/{other}/{verb}"), t, reason("x"))
                .await
        };
        resp.expect(409, Some("invalid_state"));
    }

    // Reasons are required and bounded; unknown merchants are 404.
    for verb in ["reject", "suspend", "reinstate"] {
        for body in [
            json!({}),
            json!({"reason": "  "}),
            json!({"reason": "长".repeat(501)}),
            json!({"reason": 5}),
        ] {
            let resp = app.post(&format!("/admin/merchants/{other}/{verb}"), t, body).await;
            resp.expect(422, Some("validation_failed"));
            assert_eq!(resp.error_fields(), ["reason"]);
        }
        app.post(&format!("/admin/merchants/999999/{verb}"), t, reason("x"))
            .await
            .expect(404, Some("not_found"));
    }
    app.action("/admin/merchants/999999/approve", t)
        .await
        .expect(404, Some("not_found"));
}

#[tokio::test]
async fn racing_approvals_approve_once_and_audit_once() {
    let app = TestApp::spawn().await;
    let (admin1, admin2) = (app.admin().await, app.admin().await);
    let owner = app.resident().await;
    let id = app.pending_merchant(&owner, 1).await;
    let path = format!("/admin/merchants/{id}/approve");
    let attempts = (0..8).map(|i| {
        let token = if i % 2 == 0 { &admin1.token } else { &admin2.token };
        app.action(&path, Some(token))
    });
    let results = futures_util::future::join_all(attempts).await;
    assert_eq!(results.iter().filter(|r| r.status == 200).count(), 1);
    for r in results.iter().filter(|r| r.status != 200) {
        r.expect(409, Some("invalid_state"));
    }
    let rows: i64 = audit_log::table
        .filter(audit_log::target_id.eq(id))
        .count()
        .get_result(&mut app.db())
        .expect("count");
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn the_owner_adds_and_removes_staff() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (owner, staff, stranger, other) = (
        app.resident().await,
        app.resident().await,
        app.resident().await,
        app.resident().await,
    );
    let id = app.approved_merchant(&admin, &owner, 1).await;
    let added = app.add_staff(&owner, id, &staff).await;
    assert_eq!(
        added.expect(200, None),
        &json!({"merchant_id": id, "user_id": staff.id, "role": "staff"})
    );
    let me = app.get("/me", Some(&staff.token)).await;
    assert_eq!(me.expect(200, None)["merchant_ids"], json!([id]));

    app.add_staff(&owner, id, &staff)
        .await
        .expect(409, Some("invalid_state"));
    app.add_staff(&owner, id, &owner)
        .await
        .expect(409, Some("invalid_state"));
    let unknown = app
        .post(
            &format!("/merchants/{id}/staff"),
            Some(&owner.token),
            json!({"phone": "13700000000"}),
        )
        .await;
    // An invitation, the same for a phone without an account.
    unknown.expect(202, None);
    for body in [
        json!({}),
        json!({"phone": "12345"}),
        json!({"phone": staff.phone, "role": "owner"}),
    ] {
        app.post(&format!("/merchants/{id}/staff"), Some(&owner.token), body)
            .await
            .expect(422, Some("validation_failed"));
    }
    // Staff, strangers and admins may not manage staff of an approved merchant.
    app.add_staff(&staff, id, &other).await.expect(403, Some("forbidden"));
    app.add_staff(&stranger, id, &other)
        .await
        .expect(403, Some("forbidden"));
    app.add_staff(&admin, id, &other).await.expect(403, Some("forbidden"));
    app.delete(&format!("/merchants/{id}/staff/{}", staff.id), Some(&stranger.token))
        .await
        .expect(403, Some("forbidden"));
    app.delete(&format!("/merchants/{id}/staff/{}", owner.id), Some(&staff.token))
        .await
        .expect(403, Some("forbidden"));
    app.post(&format!("/merchants/{id}/staff"), None, json!({"phone": other.phone}))
        .await
        .expect(401, Some("unauthorized"));

    // The owner stays.
    app.delete(&format!("/merchants/{id}/staff/{}", owner.id), Some(&owner.token))
        .await
        .expect(409, Some("invalid_state"));
    app.delete(&format!("/merchants/{id}/staff/{}", stranger.id), Some(&owner.token))
        .await
        .expect(404, Some("not_found"));
    app.delete(&format!("/merchants/{id}/staff/{}", staff.id), Some(&owner.token))
        .await
        .expect(204, None);
    let me = app.get("/me", Some(&staff.token)).await;
    assert_eq!(me.expect(200, None)["merchant_ids"], json!([]));
    app.delete(&format!("/merchants/{id}/staff/{}", staff.id), Some(&owner.token))
        .await
        .expect(404, Some("not_found"));
    app.add_staff(&owner, 999_999, &staff)
        .await
        .expect(404, Some("not_found"));
}

#[tokio::test]
async fn me_lists_owned_and_staffed_merchants() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (user, other_owner) = (app.resident().await, app.resident().await);
    let owned = app.pending_merchant(&user, 1).await;
    let staffed = app.approved_merchant(&admin, &other_owner, 2).await;
    app.add_staff(&other_owner, staffed, &user).await.expect(200, None);
    let me = app.get("/me", Some(&user.token)).await;
    let mut merchant_ids: Vec<i64> = me.expect(200, None)["merchant_ids"]
        .as_array()
        .expect("list")
        .iter()
        .map(|v| v.as_i64().expect("id"))
        .collect();
    merchant_ids.sort_unstable();
    assert_eq!(merchant_ids, [owned, staffed]);
}

async fn listed(app: &TestApp, query: &str) -> Vec<i64> {
    ids(&app.walk(&format!("/merchants{query}"), None).await)
}
