//! Claims and the wallet: every claim rule in API.md's order, exactness under
//! concurrency (never more than the quantity, never more than the per-user limit),
//! and `expired` read from `expires_at` at once.

use chrono::Duration;
use diesel::prelude::*;
use futures_util::future::join_all;
use serde_json::json;
use wenlv::db::schema::vouchers;

use crate::campaigns_fixtures::{at, batch_body, campaign_body, with};
use crate::helpers::{id_number, TestApp};

fn count_vouchers(app: &TestApp, batch_id: i64) -> i64 {
    vouchers::table
        .filter(vouchers::batch_id.eq(batch_id))
        .count()
        .get_result(&mut app.db())
        .expect("count")
}

/// The batch's stock: its row's plus its stock shards' (`vouchers::stock`).
pub fn remaining(app: &TestApp, batch_id: i64) -> i64 {
    wenlv::vouchers::stock::remaining(&mut app.db(), batch_id).expect("batch")
}

#[tokio::test]
async fn a_resident_claims_a_voucher_with_its_terms() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let resident = app.resident().await;
    let campaign = app.active_campaign(&admin, campaign_body()).await;
    let batch = app.batch(&admin, campaign, batch_body(10, 1)).await;
    let batch_id = batch["id"].as_i64().expect("id");
    let v = app.claim(&resident, batch_id).await.expect(201, None).clone();
    for field in [
        "id",
        "code",
        "batch_id",
        "campaign_id",
        "discount_fen",
        "min_spend_fen",
        "status",
        "claimed_at",
        "expires_at",
        "order_id",
    ] {
        assert!(v.get(field).is_some(), "{field} missing");
    }
    assert_eq!(v["batch_id"], batch_id);
    assert_eq!(v["campaign_id"], campaign);
    assert_eq!(v["discount_fen"], 3000);
    assert_eq!(v["min_spend_fen"], 10000);
    assert_eq!(v["status"], "available");
    assert_eq!(v["order_id"], json!(null));
    let code = v["code"].as_str().expect("code");
    assert_eq!(code.len(), 20, "20 base32 characters: 100 bits");
    // expires_at = claimed_at + 7 days (the campaign ends later).
    let claimed = chrono::DateTime::parse_from_rfc3339(v["claimed_at"].as_str().expect("t")).expect("t");
    let expires = chrono::DateTime::parse_from_rfc3339(v["expires_at"].as_str().expect("t")).expect("t");
    assert_eq!(expires - claimed, Duration::days(7));
    assert_eq!(remaining(&app, batch_id), 9);
    let shown = app.get(&format!("/campaigns/{campaign}"), None).await;
    assert_eq!(shown.expect(200, None)["batches"][0]["remaining"], 9);

    let wallet = app.get("/me/vouchers", Some(&resident.token)).await;
    assert_eq!(wallet.expect(200, None)["items"], json!([v]));
    // Another resident sees none of it.
    let other = app.resident().await;
    let theirs = app.get("/me/vouchers", Some(&other.token)).await;
    assert_eq!(theirs.expect(200, None)["items"], json!([]));
}

#[tokio::test]
async fn expiry_is_capped_by_the_campaign_end() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let resident = app.resident().await;
    let campaign = app
        .active_campaign(&admin, with(campaign_body(), json!({"ends_at": at(Duration::days(2))})))
        .await;
    let c = app
        .get(&format!("/campaigns/{campaign}"), None)
        .await
        .expect(200, None)
        .clone();
    let batch = app
        .batch(
            &admin,
            campaign,
            with(
                batch_body(5, 1),
                json!({"claim_ends_at": c["ends_at"], "valid_days": 30}),
            ),
        )
        .await;
    let v = app.claim(&resident, batch["id"].as_i64().expect("id")).await;
    assert_eq!(v.expect(201, None)["expires_at"], c["ends_at"]);
}

#[tokio::test]
async fn claims_outside_an_active_running_campaign_are_campaign_not_active() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let resident = app.resident().await;
    // Draft: batches exist but nothing can be claimed.
    let draft = app.draft_campaign(&admin, campaign_body()).await["id"]
        .as_i64()
        .expect("id");
    let batch = app.batch(&admin, draft, batch_body(5, 1)).await["id"]
        .as_i64()
        .expect("id");
    app.claim(&resident, batch)
        .await
        .expect(409, Some("campaign_not_active"));
    // Active: claimable; paused: not; resumed: again; ended: never.
    let go = |verb: &'static str| {
        let (app, token) = (&app, admin.token.clone());
        async move {
            app.action(&format!("/admin/campaigns/{draft}/{verb}"), Some(&token))
                .await
        }
    };
    go("publish").await.expect(200, None);
    app.claim(&resident, batch).await.expect(201, None);
    go("pause").await.expect(200, None);
    let other = app.resident().await;
    app.claim(&other, batch).await.expect(409, Some("campaign_not_active"));
    go("resume").await.expect(200, None);
    app.claim(&other, batch).await.expect(201, None);
    go("end").await.expect(200, None);
    let third = app.resident().await;
    app.claim(&third, batch).await.expect(409, Some("campaign_not_active"));

    // Active, but its window has not opened yet (campaign_not_active wins over
    // claim_not_started, the first failing check decides).
    let future = app
        .active_campaign(
            &admin,
            with(
                campaign_body(),
                json!({"starts_at": at(Duration::days(1)), "ends_at": at(Duration::days(5))}),
            ),
        )
        .await;
    let later = app
        .batch(
            &admin,
            future,
            with(
                batch_body(5, 1),
                json!({"claim_starts_at": at(Duration::days(2)), "claim_ends_at": at(Duration::days(3))}),
            ),
        )
        .await["id"]
        .as_i64()
        .expect("id");
    app.claim(&third, later).await.expect(409, Some("campaign_not_active"));
}

#[tokio::test]
async fn a_campaign_past_its_window_refuses_claims() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let resident = app.resident().await;
    let campaign = app.active_campaign(&admin, campaign_body()).await;
    let batch = app.batch(&admin, campaign, batch_body(5, 1)).await["id"]
        .as_i64()
        .expect("id");
    // Move the whole window into the past directly (an API cannot make a past campaign).
    let mut db = app.db();
    let past = wenlv::time::now() - Duration::days(10);
    diesel::sql_query(format!(
        "UPDATE campaigns SET starts_at = {s}, ends_at = {e} WHERE id = {campaign}",
        s = sql_time(&app, past),
        e = sql_time(&app, past + Duration::days(1)),
    ))
    .execute(&mut db)
    .expect("window moved");
    app.claim(&resident, batch)
        .await
        .expect(409, Some("campaign_not_active"));
}

/// A timestamp literal both engines read back as that naive UTC time.
fn sql_time(app: &TestApp, t: chrono::NaiveDateTime) -> String {
    let text = t.format("%Y-%m-%d %H:%M:%S%.6f");
    if app.is_postgres() {
        format!("TIMESTAMP '{text}'")
    } else {
        format!("'{text}'")
    }
}

#[tokio::test]
async fn claim_windows_are_enforced() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let resident = app.resident().await;
    let campaign = app.active_campaign(&admin, campaign_body()).await;
    let not_yet = app
        .batch(
            &admin,
            campaign,
            with(batch_body(5, 1), json!({"claim_starts_at": at(Duration::days(1))})),
        )
        .await["id"]
        .as_i64()
        .expect("id");
    app.claim(&resident, not_yet)
        .await
        .expect(409, Some("claim_not_started"));
    let over = app
        .batch(
            &admin,
            campaign,
            with(batch_body(5, 1), json!({"claim_ends_at": at(Duration::minutes(-1))})),
        )
        .await["id"]
        .as_i64()
        .expect("id");
    app.claim(&resident, over).await.expect(409, Some("claim_ended"));
}

#[tokio::test]
async fn real_name_campaigns_need_a_verified_resident() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let resident = app.resident().await;
    let campaign = app
        .active_campaign(&admin, with(campaign_body(), json!({"require_real_name": true})))
        .await;
    let batch = app.batch(&admin, campaign, batch_body(5, 1)).await["id"]
        .as_i64()
        .expect("id");
    app.claim(&resident, batch)
        .await
        .expect(403, Some("real_name_required"));
    app.post(
        "/me/real-name",
        Some(&resident.token),
        json!({"name": "张三", "id_number": id_number(1)}),
    )
    .await
    .expect(200, None);
    app.claim(&resident, batch).await.expect(201, None);
    // The order of checks: a claim window that has not opened comes first.
    let later = app
        .batch(
            &admin,
            campaign,
            with(batch_body(5, 1), json!({"claim_starts_at": at(Duration::days(1))})),
        )
        .await["id"]
        .as_i64()
        .expect("id");
    let unverified = app.resident().await;
    app.claim(&unverified, later)
        .await
        .expect(409, Some("claim_not_started"));
    // A campaign without the rule does not ask.
    let open = app.claimable_batch(&admin, 5, 1).await;
    app.claim(&unverified, open).await.expect(201, None);
}

#[tokio::test]
async fn the_per_user_limit_comes_before_sold_out() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (first, second) = (app.resident().await, app.resident().await);
    let batch = app.claimable_batch(&admin, 2, 2).await;
    app.claim(&first, batch).await.expect(201, None);
    app.claim(&first, batch).await.expect(201, None);
    // Sold out now, but the first resident is told about their limit first.
    app.claim(&first, batch).await.expect(409, Some("claim_limit_reached"));
    app.claim(&second, batch).await.expect(409, Some("sold_out"));
    assert_eq!(remaining(&app, batch), 0);
    assert_eq!(count_vouchers(&app, batch), 2);
}

#[tokio::test]
async fn who_may_claim() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let resident = app.resident().await;
    let batch = app.claimable_batch(&admin, 5, 1).await;
    app.claim(&admin, batch).await.expect(403, Some("forbidden"));
    app.action(&format!("/batches/{batch}/claim"), None)
        .await
        .expect(401, Some("unauthorized"));
    app.action(&format!("/batches/{batch}/claim"), Some("not-a-token"))
        .await
        .expect(401, Some("unauthorized"));
    app.claim(&resident, 999_999).await.expect(404, Some("not_found"));
    app.action("/batches/xyz/claim", Some(&resident.token))
        .await
        .expect(404, Some("not_found"));
    app.get(&format!("/batches/{batch}/claim"), Some(&resident.token))
        .await
        .expect(405, Some("method_not_allowed"));
    assert_eq!(count_vouchers(&app, batch), 0);
}

#[tokio::test]
async fn three_hundred_residents_storm_a_batch_of_one_hundred() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let batch = app.claimable_batch(&admin, 100, 1).await;
    let people = app.residents(300).await;
    // 64 parallel clients, each claiming for its share of the residents.
    let clients = people.chunks(300usize.div_ceil(64)).map(|share| {
        let app = &app;
        async move {
            let mut statuses = Vec::new();
            for who in share {
                let resp = app.claim(who, batch).await;
                statuses.push((resp.status, resp.body["code"].as_str().unwrap_or("").to_owned()));
            }
            statuses
        }
    });
    let statuses: Vec<(u16, String)> = join_all(clients).await.into_iter().flatten().collect();
    assert_eq!(statuses.len(), 300);
    let created = statuses.iter().filter(|s| s.0 == 201).count();
    let sold_out = statuses.iter().filter(|s| s.0 == 409 && s.1 == "sold_out").count();
    assert!(statuses.iter().all(|s| s.0 < 500), "no 5xx: {statuses:?}");
    assert_eq!((created, sold_out), (100, 200));
    assert_eq!(count_vouchers(&app, batch), 100);
    assert_eq!(remaining(&app, batch), 0);
    let distinct_users: i64 = vouchers::table
        .filter(vouchers::batch_id.eq(batch))
        .select(diesel::dsl::count(vouchers::user_id).aggregate_distinct())
        .first(&mut app.db())
        .expect("count");
    assert_eq!(distinct_users, 100);
}

#[tokio::test]
async fn one_resident_firing_twenty_parallel_claims_gets_the_limit_exactly() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let resident = app.resident().await;
    let batch = app.claimable_batch(&admin, 100, 2).await;
    let results = join_all((0..20).map(|_| app.claim(&resident, batch))).await;
    let created = results.iter().filter(|r| r.status == 201).count();
    let limited = results
        .iter()
        .filter(|r| r.status == 409 && r.body["code"] == "claim_limit_reached")
        .count();
    assert_eq!(
        (created, limited),
        (2, 18),
        "{:?}",
        results.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    assert_eq!(count_vouchers(&app, batch), 2);
    assert_eq!(remaining(&app, batch), 98);
    let slots: Vec<i64> = vouchers::table
        .filter(vouchers::batch_id.eq(batch))
        .order(vouchers::slot)
        .select(vouchers::slot)
        .load(&mut app.db())
        .expect("slots");
    assert_eq!(slots, [1, 2]);
}

#[tokio::test]
async fn a_voucher_past_expires_at_reads_expired_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let resident = app.resident().await;
    let batch = app.claimable_batch(&admin, 10, 5).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            app.claim(&resident, batch).await.expect(201, None)["id"]
                .as_i64()
                .expect("id"),
        );
    }
    let past = wenlv::time::now() - Duration::seconds(1);
    let mut db = app.db();
    // ids[0]: available, past expiry → expired. ids[1]: used, past expiry → used.
    // ids[2]: void → void. ids[3]: locked, not expired → locked. ids[4]: available.
    diesel::update(vouchers::table.find(ids[0]))
        .set(vouchers::expires_at.eq(past))
        .execute(&mut db)
        .expect("expire");
    diesel::update(vouchers::table.find(ids[1]))
        .set((vouchers::expires_at.eq(past), vouchers::status.eq("used")))
        .execute(&mut db)
        .expect("use");
    diesel::update(vouchers::table.find(ids[2]))
        .set(vouchers::status.eq("void"))
        .execute(&mut db)
        .expect("void");
    diesel::update(vouchers::table.find(ids[3]))
        .set(vouchers::status.eq("locked"))
        .execute(&mut db)
        .expect("lock");

    let wallet = app.get("/me/vouchers", Some(&resident.token)).await;
    let items = wallet.expect(200, None)["items"].as_array().expect("items").clone();
    let status_of = |id: i64| {
        items
            .iter()
            .find(|v| v["id"] == id)
            .map(|v| v["status"].as_str().unwrap_or("").to_owned())
    };
    assert_eq!(status_of(ids[0]).as_deref(), Some("expired"));
    assert_eq!(status_of(ids[1]).as_deref(), Some("used"));
    assert_eq!(status_of(ids[2]).as_deref(), Some("void"));
    assert_eq!(status_of(ids[3]).as_deref(), Some("locked"));
    assert_eq!(status_of(ids[4]).as_deref(), Some("available"));
    // Newest first.
    let order: Vec<i64> = items.iter().map(|v| v["id"].as_i64().expect("id")).collect();
    assert_eq!(order, ids.iter().rev().copied().collect::<Vec<_>>());

    let filtered = |status: &'static str| {
        let app = &app;
        let token = resident.token.clone();
        async move {
            let resp = app.get(&format!("/me/vouchers?status={status}"), Some(&token)).await;
            resp.expect(200, None)["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|v| v["id"].as_i64().expect("id"))
                .collect::<Vec<i64>>()
        }
    };
    assert_eq!(filtered("available").await, [ids[4]]);
    assert_eq!(filtered("expired").await, [ids[0]]);
    assert_eq!(filtered("used").await, [ids[1]]);
    assert_eq!(filtered("void").await, [ids[2]]);
    assert_eq!(filtered("locked").await, [ids[3]]);

    // A locked voucher past its expiry reads expired too (API.md: unless used or void).
    diesel::update(vouchers::table.find(ids[3]))
        .set(vouchers::expires_at.eq(past))
        .execute(&mut db)
        .expect("expire locked");
    assert_eq!(filtered("expired").await, [ids[3], ids[0]]);
    assert_eq!(filtered("locked").await, Vec::<i64>::new());
}

#[tokio::test]
async fn a_short_campaign_window_expires_its_vouchers() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let resident = app.resident().await;
    // The campaign ends in two seconds, so the voucher expires then.
    let campaign = app
        .active_campaign(
            &admin,
            with(campaign_body(), json!({"ends_at": at(Duration::seconds(2))})),
        )
        .await;
    let c = app
        .get(&format!("/campaigns/{campaign}"), None)
        .await
        .expect(200, None)
        .clone();
    let batch = app
        .batch(
            &admin,
            campaign,
            with(batch_body(5, 1), json!({"claim_ends_at": c["ends_at"]})),
        )
        .await["id"]
        .as_i64()
        .expect("id");
    let v = app.claim(&resident, batch).await;
    assert_eq!(v.expect(201, None)["status"], "available");
    assert_eq!(v.body["expires_at"], c["ends_at"]);
    // Wait until past expiry (a condition, not a timing assertion).
    let ends_at = chrono::DateTime::parse_from_rfc3339(c["ends_at"].as_str().expect("ends_at")).expect("rfc 3339");
    while chrono::Utc::now() <= ends_at {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let wallet = app.get("/me/vouchers", Some(&resident.token)).await;
    assert_eq!(wallet.expect(200, None)["items"][0]["status"], "expired");
}

#[tokio::test]
async fn the_wallet_pages_and_validates_its_query() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let resident = app.resident().await;
    let batch = app.claimable_batch(&admin, 10, 3).await;
    for _ in 0..3 {
        app.claim(&resident, batch).await.expect(201, None);
    }
    let first = app.get("/me/vouchers?limit=2", Some(&resident.token)).await;
    assert_eq!(first.expect(200, None)["items"].as_array().map(Vec::len), Some(2));
    let cursor = first.body["next_cursor"].as_str().expect("cursor").to_owned();
    let second = app
        .get(&format!("/me/vouchers?limit=2&cursor={cursor}"), Some(&resident.token))
        .await;
    assert_eq!(second.expect(200, None)["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(second.body["next_cursor"], json!(null));
    app.get("/me/vouchers?status=expiredish", Some(&resident.token))
        .await
        .expect(422, Some("validation_failed"));
    app.get("/me/vouchers?limit=101", Some(&resident.token))
        .await
        .expect(422, Some("validation_failed"));
    app.get("/me/vouchers", None).await.expect(401, Some("unauthorized"));
}

// --- Coalesced claims (issue 11): groups, memory, backpressure.

/// The value of a counter series in `/metrics` (0 when absent).
pub async fn counter(app: &TestApp, series: &str) -> f64 {
    let text = app.get("/metrics", None).await.text;
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn a_resident_twice_in_one_group_counts_against_the_limit() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (twice, once) = (app.resident().await, app.resident().await);
    let batch = app.claimable_batch(&admin, 10, 1).await;
    // One group, decided in arrival order: [twice, twice, once, twice].
    let outcome = wenlv::vouchers::repo::group::claim_group(
        &mut app.db(),
        &app.clock,
        batch,
        &[twice.id, twice.id, once.id, twice.id],
    )
    .expect("the group commits");
    let codes: Vec<&str> = outcome
        .answers
        .iter()
        .map(|a| match a {
            Ok(_) => "201",
            Err(e) => e.code().as_str(),
        })
        .collect();
    assert_eq!(codes, ["201", "claim_limit_reached", "201", "claim_limit_reached"]);
    assert_eq!(count_vouchers(&app, batch), 2);
    assert_eq!(remaining(&app, batch), 8);
    // The earliest claims win when fewer remain than the group wants.
    let last_two = app.claimable_batch(&admin, 2, 5).await;
    let outcome =
        wenlv::vouchers::repo::group::claim_group(&mut app.db(), &app.clock, last_two, &[once.id, twice.id, once.id])
            .expect("the group commits");
    let won: Vec<bool> = outcome.answers.iter().map(Result::is_ok).collect();
    assert_eq!(won, [true, true, false]);
    assert_eq!(
        outcome.answers[2].as_ref().err().map(|e| e.code().as_str()),
        Some("sold_out")
    );
    assert_eq!(remaining(&app, last_two), 0);
    let slots: Vec<(i64, i64)> = vouchers::table
        .filter(vouchers::batch_id.eq(last_two))
        .select((vouchers::user_id, vouchers::slot))
        .load(&mut app.db())
        .expect("slots");
    assert_eq!(slots.len(), 2);

    // Over HTTP: a writer that waits for its group to fill puts one resident's
    // parallel claims in one group; exactly one is 201.
    let app = TestApp::spawn_with(|s| {
        s.claims.max_wait_ms = 200;
        s.claims.max_group = 64;
    })
    .await;
    let admin = app.admin().await;
    let resident = app.resident().await;
    let batch = app.claimable_batch(&admin, 10, 1).await;
    let results = join_all((0..30).map(|_| app.claim(&resident, batch))).await;
    let created = results.iter().filter(|r| r.status == 201).count();
    let limited = results
        .iter()
        .filter(|r| r.status == 409 && r.body["code"] == "claim_limit_reached")
        .count();
    assert_eq!((created, limited), (1, 29));
    assert_eq!(count_vouchers(&app, batch), 1);
    assert_eq!(remaining(&app, batch), 9);
}

#[tokio::test]
async fn sixty_four_clients_with_repeat_claims_get_exact_counts() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let batch = app.claimable_batch(&admin, 100, 2).await;
    let people = app.residents(64).await;
    // 64 parallel clients, each resident claiming four times: 128 could be given,
    // 100 exist.
    let clients = people.iter().map(|who| {
        let app = &app;
        async move {
            let mut statuses = Vec::new();
            for _ in 0..4 {
                let resp = app.claim(who, batch).await;
                statuses.push((resp.status, resp.body["code"].as_str().unwrap_or("").to_owned()));
            }
            statuses
        }
    });
    let statuses: Vec<(u16, String)> = join_all(clients).await.into_iter().flatten().collect();
    assert!(statuses.iter().all(|s| s.0 < 500), "no 5xx: {statuses:?}");
    let created = statuses.iter().filter(|s| s.0 == 201).count();
    assert_eq!(created, 100);
    assert_eq!(count_vouchers(&app, batch), 100);
    assert_eq!(remaining(&app, batch), 0);
    let most: Option<i64> = vouchers::table
        .filter(vouchers::batch_id.eq(batch))
        .group_by(vouchers::user_id)
        .select(diesel::dsl::count_star())
        .load::<i64>(&mut app.db())
        .expect("per user")
        .into_iter()
        .max();
    assert_eq!(most, Some(2), "nobody beyond per_user_limit");
}

#[tokio::test]
async fn a_drained_batch_is_answered_from_memory_in_api_order() {
    let app = TestApp::spawn_with(|s| s.claims.memory_ttl_ms = 300).await;
    let admin = app.admin().await;
    let campaign = app.active_campaign(&admin, campaign_body()).await;
    let batch = app.batch(&admin, campaign, batch_body(3, 1)).await["id"]
        .as_i64()
        .expect("id");
    let people = app.residents(8).await;
    for who in &people[..3] {
        app.claim(who, batch).await.expect(201, None);
    }
    let series = r#"claims_answered_from_memory_total{code="sold_out"}"#;
    let limit_series = r#"claims_answered_from_memory_total{code="claim_limit_reached"}"#;
    // The first refusal may still go to the database; the instance knows after it.
    app.claim(&people[3], batch).await.expect(409, Some("sold_out"));
    let (before, limit_before) = (counter(&app, series).await, counter(&app, limit_series).await);
    for who in &people[3..] {
        app.claim(who, batch).await.expect(409, Some("sold_out"));
    }
    // A winner is told about their limit first, from memory too.
    app.claim(&people[0], batch)
        .await
        .expect(409, Some("claim_limit_reached"));
    assert!(
        counter(&app, series).await - before >= 5.0,
        "sold_out answered from memory"
    );
    assert!(counter(&app, limit_series).await - limit_before >= 1.0);

    // A pause after sold-out: campaign_not_active once the remembered status has
    // aged past claims.memory_ttl_ms (the documented bound), and sold_out again
    // after a resume.
    let go = |verb: &'static str| {
        let (app, token) = (&app, admin.token.clone());
        async move {
            app.action(&format!("/admin/campaigns/{campaign}/{verb}"), Some(&token))
                .await
                .expect(200, None)
                .clone()
        }
    };
    go("pause").await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    app.claim(&people[4], batch)
        .await
        .expect(409, Some("campaign_not_active"));
    app.claim(&people[0], batch)
        .await
        .expect(409, Some("campaign_not_active"));
    go("resume").await;
    app.claim(&people[4], batch).await.expect(409, Some("sold_out"));
    app.claim(&people[0], batch)
        .await
        .expect(409, Some("claim_limit_reached"));
    assert_eq!(count_vouchers(&app, batch), 3);
    assert_eq!(remaining(&app, batch), 0);
}

#[tokio::test]
async fn a_drained_real_name_batch_still_asks_unverified_residents_for_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let campaign = app
        .active_campaign(&admin, with(campaign_body(), json!({"require_real_name": true})))
        .await;
    let batch = app.batch(&admin, campaign, batch_body(1, 1)).await["id"]
        .as_i64()
        .expect("id");
    let (verified, other, unverified) = (app.resident().await, app.resident().await, app.resident().await);
    for (n, who) in [(1, &verified), (2, &other)] {
        app.post(
            "/me/real-name",
            Some(&who.token),
            json!({"name": "张三", "id_number": id_number(n)}),
        )
        .await
        .expect(200, None);
    }
    app.claim(&verified, batch).await.expect(201, None);
    app.claim(&other, batch).await.expect(409, Some("sold_out"));
    for _ in 0..3 {
        app.claim(&unverified, batch)
            .await
            .expect(403, Some("real_name_required"));
        app.claim(&verified, batch)
            .await
            .expect(409, Some("claim_limit_reached"));
        app.claim(&other, batch).await.expect(409, Some("sold_out"));
    }
}

#[tokio::test]
async fn a_full_queue_answers_overloaded_and_changes_nothing() {
    let app = TestApp::spawn_with(|s| {
        s.claims.max_queue = 1;
        s.claims.max_group = 1;
    })
    .await;
    let admin = app.admin().await;
    let batch = app.claimable_batch(&admin, 1000, 100).await;
    let people = app.residents(10).await;
    let mut overloaded = 0;
    let mut created = 0;
    // A burst far beyond a queue of one: some claims must be turned away.
    for _ in 0..5 {
        let burst = people.iter().cycle().take(60).map(|who| app.claim(who, batch));
        for resp in join_all(burst).await {
            match resp.status {
                201 => created += 1,
                503 => {
                    resp.expect(503, Some("overloaded"));
                    assert_eq!(resp.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
                    overloaded += 1;
                }
                other => panic!("unexpected {other}: {}", resp.text),
            }
        }
        if overloaded > 0 {
            break;
        }
    }
    assert!(overloaded > 0, "a queue of one never overflowed");
    assert_eq!(count_vouchers(&app, batch), created);
    assert_eq!(remaining(&app, batch), 1000 - created);
}
