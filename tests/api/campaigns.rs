//! Campaigns and batches: creation and validation, the lifecycle with its audit
//! rows, the budget reservation under racing admins, and who sees what.

use chrono::Duration;
use diesel::prelude::*;
use serde_json::json;
use wenlv::db::schema::{audit_log, campaigns, voucher_batches};

use crate::campaigns_fixtures::{at, batch_body, campaign_body, with};
use crate::helpers::TestApp;

#[tokio::test]
async fn an_admin_creates_a_draft_campaign_with_every_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let body = with(
        campaign_body(),
        json!({
            "description": "  冬季消费  ",
            "eligible_categories": ["bookstore", "cinema", "bookstore"],
            "eligible_districts": ["anci"],
            "require_real_name": true,
            "refund_returns_voucher": true,
            "target_leverage": 7.5,
        }),
    );
    let c = app.draft_campaign(&admin, body).await;
    assert_eq!(c["status"], "draft");
    assert_eq!(c["description"], "冬季消费");
    assert_eq!(c["budget_fen"], 10_000_000);
    assert_eq!(c["reserved_fen"], 0);
    assert_eq!(c["target_leverage"], 7.5);
    assert_eq!(c["eligible_categories"], json!(["bookstore", "cinema"]));
    assert_eq!(c["eligible_districts"], json!(["anci"]));
    assert_eq!(c["require_real_name"], true);
    assert_eq!(c["refund_returns_voucher"], true);
    assert_eq!(c["batches"], json!([]));
    for field in [
        "id",
        "name",
        "description",
        "status",
        "budget_fen",
        "reserved_fen",
        "target_leverage",
        "starts_at",
        "ends_at",
        "eligible_categories",
        "eligible_districts",
        "require_real_name",
        "refund_returns_voucher",
        "created_at",
        "batches",
    ] {
        assert!(c.get(field).is_some(), "{field} missing");
    }
    assert!(c["starts_at"].as_str().is_some_and(|t| t.ends_with('Z')));

    // Defaults: empty lists (all), no real-name rule, refunds keep the voucher.
    let d = app.draft_campaign(&admin, campaign_body()).await;
    assert_eq!(d["description"], "");
    assert_eq!(d["eligible_categories"], json!([]));
    assert_eq!(d["eligible_districts"], json!([]));
    assert_eq!(d["require_real_name"], false);
    assert_eq!(d["refund_returns_voucher"], false);

    let mut db = app.db();
    let (categories, districts): (String, String) = campaigns::table
        .find(c["id"].as_i64().expect("id"))
        .select((campaigns::eligible_categories, campaigns::eligible_districts))
        .first(&mut db)
        .expect("row");
    assert_eq!((categories.as_str(), districts.as_str()), ("bookstore,cinema", "anci"));
    let actions: Vec<String> = audit_log::table
        .filter(audit_log::target_type.eq("campaign"))
        .select(audit_log::action)
        .load(&mut db)
        .expect("audit");
    assert_eq!(actions, ["campaign.create", "campaign.create"]);
}

#[tokio::test]
async fn campaign_creation_validates_every_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let cases = [
        (json!({"name": "   "}), "name"),
        (json!({"name": "x".repeat(101)}), "name"),
        (json!({"name": null}), "name"),
        (json!({"description": "x".repeat(2001)}), "description"),
        (json!({"budget_fen": 0}), "budget_fen"),
        (json!({"budget_fen": 1_000_000_000_001_i64}), "budget_fen"),
        (json!({"budget_fen": 10.5}), "budget_fen"),
        (json!({"budget_fen": "100"}), "budget_fen"),
        (json!({"target_leverage": 0}), "target_leverage"),
        (json!({"target_leverage": -1}), "target_leverage"),
        (json!({"target_leverage": 1000.5}), "target_leverage"),
        (json!({"target_leverage": "10"}), "target_leverage"),
        (json!({"starts_at": "2026-11-26 02:00:00"}), "starts_at"),
        (json!({"ends_at": at(Duration::hours(-2))}), "ends_at"),
        (json!({"eligible_categories": ["bogus"]}), "eligible_categories"),
        (json!({"eligible_categories": "bookstore"}), "eligible_categories"),
        (json!({"eligible_districts": ["atlantis"]}), "eligible_districts"),
        (json!({"require_real_name": "yes"}), "require_real_name"),
        (json!({"refund_returns_voucher": 1}), "refund_returns_voucher"),
        (json!({"status": "active"}), "status"),
        (json!({"reserved_fen": 5}), "reserved_fen"),
    ];
    for (change, field) in cases {
        let resp = app
            .post(
                "/admin/campaigns",
                Some(&admin.token),
                with(campaign_body(), change.clone()),
            )
            .await;
        resp.expect(422, Some("validation_failed"));
        assert_eq!(resp.error_fields(), [field], "{change}");
    }
    // ends_at equal to starts_at is not after it; and 1000 exactly is allowed.
    let t = at(Duration::hours(1));
    let resp = app
        .post(
            "/admin/campaigns",
            Some(&admin.token),
            with(campaign_body(), json!({"starts_at": t, "ends_at": t})),
        )
        .await;
    resp.expect(422, Some("validation_failed"));
    assert_eq!(resp.error_fields(), ["ends_at"]);
    app.draft_campaign(&admin, with(campaign_body(), json!({"target_leverage": 1000})))
        .await;
    // Every missing required field is named at once.
    let resp = app.post("/admin/campaigns", Some(&admin.token), json!({})).await;
    resp.expect(422, Some("validation_failed"));
    assert_eq!(
        resp.error_fields(),
        ["budget_fen", "ends_at", "name", "starts_at", "target_leverage"]
    );
}

#[tokio::test]
async fn the_lifecycle_allows_only_its_moves_and_audits_each() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let id = app.draft_campaign(&admin, campaign_body()).await["id"]
        .as_i64()
        .expect("id");
    let go = |verb: &'static str| {
        let path = format!("/admin/campaigns/{id}/{verb}");
        let token = admin.token.clone();
        let app = &app;
        async move { app.action(&path, Some(&token)).await }
    };
    // From draft: pause and resume are illegal.
    go("pause").await.expect(409, Some("invalid_state"));
    go("resume").await.expect(409, Some("invalid_state"));
    assert_eq!(go("publish").await.expect(200, None)["status"], "active");
    go("publish").await.expect(409, Some("invalid_state"));
    go("resume").await.expect(409, Some("invalid_state"));
    assert_eq!(go("pause").await.expect(200, None)["status"], "paused");
    go("pause").await.expect(409, Some("invalid_state"));
    go("publish").await.expect(409, Some("invalid_state"));
    assert_eq!(go("resume").await.expect(200, None)["status"], "active");
    let ended = go("end").await;
    assert_eq!(ended.expect(200, None)["status"], "ended");
    assert!(ended.body.get("batches").is_some());
    for verb in ["publish", "pause", "resume", "end"] {
        go(verb).await.expect(409, Some("invalid_state"));
    }
    // A draft can be ended directly, and so can a paused campaign.
    let other = app.draft_campaign(&admin, campaign_body()).await["id"]
        .as_i64()
        .expect("id");
    app.action(&format!("/admin/campaigns/{other}/end"), Some(&admin.token))
        .await
        .expect(200, None);
    let third = app.active_campaign(&admin, campaign_body()).await;
    app.action(&format!("/admin/campaigns/{third}/pause"), Some(&admin.token))
        .await
        .expect(200, None);
    app.action(&format!("/admin/campaigns/{third}/end"), Some(&admin.token))
        .await
        .expect(200, None);
    // Unknown campaigns are 404, not 409.
    for verb in ["publish", "pause", "resume", "end"] {
        app.action(&format!("/admin/campaigns/999999/{verb}"), Some(&admin.token))
            .await
            .expect(404, Some("not_found"));
    }

    let mut db = app.db();
    let rows: Vec<(String, i64, i64)> = audit_log::table
        .filter(audit_log::target_id.eq(id))
        .filter(audit_log::target_type.eq("campaign"))
        .order(audit_log::id)
        .select((audit_log::action, audit_log::actor_id, audit_log::target_id))
        .load(&mut db)
        .expect("audit");
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        actions,
        [
            "campaign.create",
            "campaign.publish",
            "campaign.pause",
            "campaign.resume",
            "campaign.end"
        ],
        "illegal moves leave no audit row"
    );
    assert!(rows.iter().all(|r| r.1 == admin.id));
}

#[tokio::test]
async fn racing_lifecycle_moves_let_exactly_one_win() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let id = app.draft_campaign(&admin, campaign_body()).await["id"]
        .as_i64()
        .expect("id");
    let path = format!("/admin/campaigns/{id}/publish");
    let results = futures_util::future::join_all((0..8).map(|_| app.action(&path, Some(&admin.token)))).await;
    let won = results.iter().filter(|r| r.status == 200).count();
    let refused = results
        .iter()
        .filter(|r| r.status == 409 && r.body["code"] == "invalid_state")
        .count();
    assert_eq!((won, refused), (1, 7));
    let mut db = app.db();
    let publishes: i64 = audit_log::table
        .filter(audit_log::action.eq("campaign.publish"))
        .count()
        .get_result(&mut db)
        .expect("count");
    assert_eq!(publishes, 1);
}

#[tokio::test]
async fn a_batch_reserves_its_face_value_and_is_audited() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let campaign = app.draft_campaign(&admin, campaign_body()).await["id"]
        .as_i64()
        .expect("id");
    let b = app.batch(&admin, campaign, batch_body(100, 2)).await;
    for field in [
        "id",
        "campaign_id",
        "name",
        "discount_fen",
        "min_spend_fen",
        "quantity",
        "remaining",
        "per_user_limit",
        "claim_starts_at",
        "claim_ends_at",
        "valid_days",
    ] {
        assert!(b.get(field).is_some(), "{field} missing");
    }
    assert_eq!(b["campaign_id"], campaign);
    assert_eq!(b["quantity"], 100);
    assert_eq!(b["remaining"], 100);
    assert_eq!(b["per_user_limit"], 2);
    let c = app
        .get(&format!("/campaigns/{campaign}"), Some(&admin.token))
        .await
        .expect(200, None)
        .clone();
    assert_eq!(c["reserved_fen"], 300_000);
    assert_eq!(c["batches"], json!([b]));

    // The rest of the budget (9,700,000) fits exactly; one fen more does not.
    let exact = with(batch_body(1, 1), json!({"discount_fen": 9_700_000, "min_spend_fen": 0}));
    let too_much = with(exact.clone(), json!({"discount_fen": 1}));
    app.batch(&admin, campaign, exact).await;
    app.post(
        &format!("/admin/campaigns/{campaign}/batches"),
        Some(&admin.token),
        too_much,
    )
    .await
    .expect(422, Some("budget_exceeded"));
    let mut db = app.db();
    let (reserved, budget): (i64, i64) = campaigns::table
        .find(campaign)
        .select((campaigns::reserved_fen, campaigns::budget_fen))
        .first(&mut db)
        .expect("campaign");
    assert_eq!(reserved, budget);
    let audited: i64 = audit_log::table
        .filter(audit_log::action.eq("batch.create"))
        .filter(audit_log::target_type.eq("batch"))
        .count()
        .get_result(&mut db)
        .expect("count");
    assert_eq!(audited, 2, "the refused batch left no audit row");
}

#[tokio::test]
async fn a_face_value_beyond_any_budget_is_budget_exceeded_not_an_overflow() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let campaign = app
        .draft_campaign(
            &admin,
            with(campaign_body(), json!({"budget_fen": 1_000_000_000_000_i64})),
        )
        .await["id"]
        .as_i64()
        .expect("id");
    let body = with(
        batch_body(10_000_000, 1),
        json!({"discount_fen": 100_000_000, "min_spend_fen": 0}),
    );
    app.post(
        &format!("/admin/campaigns/{campaign}/batches"),
        Some(&admin.token),
        body,
    )
    .await
    .expect(422, Some("budget_exceeded"));
}

#[tokio::test]
async fn racing_admins_never_reserve_more_than_the_budget() {
    let app = TestApp::spawn().await;
    let (a, b) = (app.admin().await, app.admin().await);
    // Budget 100,000 fen; each batch is 30 × 1,000 = 30,000: only 3 fit.
    let campaign = app
        .active_campaign(&a, with(campaign_body(), json!({"budget_fen": 100_000})))
        .await;
    let body = with(batch_body(30, 1), json!({"discount_fen": 1000, "min_spend_fen": 0}));
    let path = format!("/admin/campaigns/{campaign}/batches");
    let attempts = (0..12).map(|i| {
        let token = if i % 2 == 0 { a.token.clone() } else { b.token.clone() };
        let (app, path, body) = (&app, path.clone(), body.clone());
        async move { app.post(&path, Some(&token), body).await }
    });
    let results = futures_util::future::join_all(attempts).await;
    let created = results.iter().filter(|r| r.status == 201).count();
    let refused = results
        .iter()
        .filter(|r| r.status == 422 && r.body["code"] == "budget_exceeded")
        .count();
    assert_eq!((created, refused), (3, 9));
    let mut db = app.db();
    let (reserved, budget): (i64, i64) = campaigns::table
        .find(campaign)
        .select((campaigns::reserved_fen, campaigns::budget_fen))
        .first(&mut db)
        .expect("campaign");
    assert_eq!(reserved, 90_000);
    assert!(reserved <= budget);
    let batches: i64 = voucher_batches::table
        .filter(voucher_batches::campaign_id.eq(campaign))
        .count()
        .get_result(&mut db)
        .expect("count");
    assert_eq!(batches, 3);
}

#[tokio::test]
async fn batch_creation_validates_every_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let campaign = app
        .draft_campaign(&admin, with(campaign_body(), json!({"budget_fen": 100_000_000})))
        .await;
    let id = campaign["id"].as_i64().expect("id");
    let path = format!("/admin/campaigns/{id}/batches");
    let cases = [
        (json!({"name": ""}), vec!["name"]),
        (json!({"name": "x".repeat(101)}), vec!["name"]),
        (json!({"discount_fen": 0}), vec!["discount_fen"]),
        (json!({"discount_fen": 100_000_001}), vec!["discount_fen"]),
        (json!({"discount_fen": 10001}), vec!["discount_fen"]),
        (json!({"discount_fen": 1.5}), vec!["discount_fen"]),
        (json!({"min_spend_fen": -1}), vec!["min_spend_fen"]),
        (json!({"min_spend_fen": 100_000_001}), vec!["min_spend_fen"]),
        (json!({"quantity": 0}), vec!["quantity"]),
        (json!({"quantity": 10_000_001}), vec!["quantity"]),
        (json!({"per_user_limit": 0}), vec!["per_user_limit"]),
        (json!({"per_user_limit": 101}), vec!["per_user_limit"]),
        (json!({"valid_days": 0}), vec!["valid_days"]),
        (json!({"valid_days": 367}), vec!["valid_days"]),
        (json!({"claim_starts_at": "tomorrow"}), vec!["claim_starts_at"]),
        (json!({"claim_ends_at": null}), vec!["claim_ends_at"]),
        (
            json!({"claim_ends_at": at(Duration::minutes(-40))}),
            vec!["claim_ends_at"],
        ),
        (
            json!({"claim_starts_at": at(Duration::hours(-2))}),
            vec!["claim_starts_at"],
        ),
        (json!({"claim_ends_at": at(Duration::days(31))}), vec!["claim_ends_at"]),
        (json!({"remaining": 5}), vec!["remaining"]),
    ];
    for (change, fields) in cases {
        let resp = app
            .post(&path, Some(&admin.token), with(batch_body(10, 1), change.clone()))
            .await;
        resp.expect(422, Some("validation_failed"));
        assert_eq!(resp.error_fields(), fields, "{change}");
    }
    // A discount above a min spend of 0 is fine; discount equal to min spend too;
    // the claim window may touch the campaign's ends.
    app.batch(
        &admin,
        id,
        with(batch_body(1, 1), json!({"discount_fen": 50_000, "min_spend_fen": 0})),
    )
    .await;
    app.batch(
        &admin,
        id,
        with(
            batch_body(1, 1),
            json!({"discount_fen": 10_000, "min_spend_fen": 10_000}),
        ),
    )
    .await;
    app.batch(
        &admin,
        id,
        with(
            batch_body(1, 1),
            json!({"claim_starts_at": campaign["starts_at"], "claim_ends_at": campaign["ends_at"]}),
        ),
    )
    .await;
    app.batch(
        &admin,
        id,
        with(batch_body(1, 1), json!({"quantity": 10_000_000, "discount_fen": 1, "min_spend_fen": 0, "per_user_limit": 100, "valid_days": 366})),
    )
    .await;
}

#[tokio::test]
async fn batches_need_a_campaign_that_exists_and_has_not_ended() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.post("/admin/campaigns/999999/batches", Some(&admin.token), batch_body(10, 1))
        .await
        .expect(404, Some("not_found"));
    let id = app.active_campaign(&admin, campaign_body()).await;
    app.action(&format!("/admin/campaigns/{id}/end"), Some(&admin.token))
        .await
        .expect(200, None);
    app.post(
        &format!("/admin/campaigns/{id}/batches"),
        Some(&admin.token),
        batch_body(10, 1),
    )
    .await
    .expect(409, Some("invalid_state"));
}

#[tokio::test]
async fn residents_and_strangers_cannot_use_admin_routes() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let resident = app.resident().await;
    let id = app.draft_campaign(&admin, campaign_body()).await["id"]
        .as_i64()
        .expect("id");
    let t = Some(resident.token.as_str());
    app.post("/admin/campaigns", t, campaign_body())
        .await
        .expect(403, Some("forbidden"));
    app.get("/admin/campaigns", t).await.expect(403, Some("forbidden"));
    app.post(&format!("/admin/campaigns/{id}/batches"), t, batch_body(1, 1))
        .await
        .expect(403, Some("forbidden"));
    for verb in ["publish", "pause", "resume", "end"] {
        app.action(&format!("/admin/campaigns/{id}/{verb}"), t)
            .await
            .expect(403, Some("forbidden"));
    }
    app.post("/admin/campaigns", None, campaign_body())
        .await
        .expect(401, Some("unauthorized"));
    app.get("/admin/campaigns", None)
        .await
        .expect(401, Some("unauthorized"));
}

#[tokio::test]
async fn public_listing_shows_active_campaigns_with_batches_and_drafts_are_404() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let resident = app.resident().await;
    let draft = app.draft_campaign(&admin, campaign_body()).await["id"]
        .as_i64()
        .expect("id");
    app.batch(&admin, draft, batch_body(5, 1)).await;
    let active = app.active_campaign(&admin, campaign_body()).await;
    let batch = app.batch(&admin, active, batch_body(7, 1)).await;
    let paused = app.active_campaign(&admin, campaign_body()).await;
    app.action(&format!("/admin/campaigns/{paused}/pause"), Some(&admin.token))
        .await
        .expect(200, None);

    for token in [None, Some(resident.token.as_str())] {
        let list = app.get("/campaigns", token).await;
        let items = list.expect(200, None)["items"].as_array().expect("items").clone();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["id"], active);
        assert_eq!(items[0]["batches"], json!([batch]));
        assert_eq!(list.body["next_cursor"], json!(null));
        app.get(&format!("/campaigns/{active}"), token).await.expect(200, None);
        app.get(&format!("/campaigns/{draft}"), token)
            .await
            .expect(404, Some("not_found"));
        app.get(&format!("/campaigns/{paused}"), token)
            .await
            .expect(404, Some("not_found"));
    }
    // Admins see any status.
    let shown = app.get(&format!("/campaigns/{draft}"), Some(&admin.token)).await;
    assert_eq!(shown.expect(200, None)["status"], "draft");
    assert_eq!(shown.body["batches"].as_array().map(Vec::len), Some(1));
    app.get("/campaigns/999999", Some(&admin.token))
        .await
        .expect(404, Some("not_found"));
    app.get("/campaigns/abc", None).await.expect(404, Some("not_found"));
}

#[tokio::test]
async fn admins_list_every_campaign_by_status_newest_first_in_pages() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            app.draft_campaign(&admin, campaign_body()).await["id"]
                .as_i64()
                .expect("id"),
        );
    }
    let active = app.active_campaign(&admin, campaign_body()).await;
    app.batch(&admin, active, batch_body(3, 1)).await;

    let all = app.get("/admin/campaigns", Some(&admin.token)).await;
    let items = all.expect(200, None)["items"].as_array().expect("items").clone();
    let listed: Vec<i64> = items.iter().map(|c| c["id"].as_i64().expect("id")).collect();
    assert_eq!(listed, [active, ids[2], ids[1], ids[0]]);
    assert_eq!(items[0]["batches"].as_array().map(Vec::len), Some(1));

    let drafts = app
        .get("/admin/campaigns?status=draft&limit=2", Some(&admin.token))
        .await;
    let page1: Vec<i64> = drafts.expect(200, None)["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(page1, [ids[2], ids[1]]);
    let cursor = drafts.body["next_cursor"].as_str().expect("cursor").to_owned();
    let next = app
        .get(
            &format!("/admin/campaigns?status=draft&limit=2&cursor={cursor}"),
            Some(&admin.token),
        )
        .await;
    assert_eq!(next.expect(200, None)["items"][0]["id"], ids[0]);
    assert_eq!(next.body["next_cursor"], json!(null));

    let actives = app.get("/admin/campaigns?status=active", Some(&admin.token)).await;
    assert_eq!(actives.expect(200, None)["items"].as_array().map(Vec::len), Some(1));
    app.get("/admin/campaigns?status=bogus", Some(&admin.token))
        .await
        .expect(422, Some("validation_failed"));
    app.get("/admin/campaigns?limit=0", Some(&admin.token))
        .await
        .expect(422, Some("validation_failed"));
    app.get("/admin/campaigns?cursor=zzz", Some(&admin.token))
        .await
        .expect(422, Some("validation_failed"));
}
