//! Fair release (API.md): batch allocation and pacing fields, lottery entries with
//! their gap-free numbers and rule order, and usable weekdays and hours at checkout.

use chrono::{Datelike, Duration, Timelike, Utc};
use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::campaigns_fixtures::{at, batch_body, campaign_body, with};
use crate::helpers::{Actor, TestApp};
use crate::order_fixtures::PRICE_FEN;

/// A lottery batch body: 10 winners, entries open now for a day.
fn lottery_body(quantity: i64) -> Value {
    with(batch_body(quantity, 1), json!({"allocation": "lottery"}))
}

impl TestApp {
    async fn enter(&self, who: &Actor, batch_id: i64) -> crate::helpers::Resp {
        self.action(&format!("/batches/{batch_id}/entries"), Some(&who.token))
            .await
    }
}

#[actix_rt::test]
async fn a_batch_shows_its_allocation_pacing_and_usable_window() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let campaign = app.active_campaign(&admin, campaign_body()).await;

    let plain = app.batch(&admin, campaign, batch_body(10, 1)).await;
    assert_eq!(plain["allocation"], "first_come");
    assert_eq!(plain["daily_quantity"], Value::Null);
    assert_eq!(plain["usable_weekdays"], json!([1, 2, 3, 4, 5, 6, 7]));
    assert_eq!(plain["usable_hours"], Value::Null);

    let paced = app
        .batch(
            &admin,
            campaign,
            with(
                batch_body(100, 1),
                json!({"daily_quantity": 40, "usable_weekdays": [7, 6, 6], "usable_hours": {"from": "09:00", "to": "21:30"}}),
            ),
        )
        .await;
    assert_eq!(paced["daily_quantity"], 40);
    assert_eq!(paced["usable_weekdays"], json!([6, 7]));
    assert_eq!(paced["usable_hours"], json!({"from": "09:00", "to": "21:30"}));

    let lottery = app.batch(&admin, campaign, lottery_body(10)).await;
    assert_eq!(lottery["allocation"], "lottery");
    assert_eq!(plain["draw"], Value::Null, "a first-come batch has no draw");
    assert_eq!(lottery["draw"]["commitment"].as_str().map(str::len), Some(64));
    assert_eq!(
        lottery["draw"]["seed"],
        Value::Null,
        "the seed is secret until the draw"
    );
    let shown = app.get(&format!("/campaigns/{campaign}"), None).await;
    let batches = shown.expect(200, None)["batches"].as_array().expect("batches").clone();
    assert_eq!(batches.len(), 3);
    assert!(
        batches
            .iter()
            .all(|b| !b.as_object().expect("batch").contains_key("draw_seed")),
        "the seed is never shown with the batch"
    );
}

#[actix_rt::test]
async fn batch_fields_of_fair_release_are_validated() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let campaign = app.active_campaign(&admin, campaign_body()).await;
    let path = format!("/admin/campaigns/{campaign}/batches");
    let cases = [
        (json!({"allocation": "raffle"}), "allocation"),
        (json!({"allocation": "lottery", "per_user_limit": 2}), "per_user_limit"),
        (
            json!({"allocation": "lottery", "per_user_limit": 1, "daily_quantity": 5}),
            "daily_quantity",
        ),
        (json!({"quantity": 10, "daily_quantity": 11}), "daily_quantity"),
        (json!({"daily_quantity": 0}), "daily_quantity"),
        (json!({"usable_weekdays": []}), "usable_weekdays"),
        (json!({"usable_weekdays": [0, 1]}), "usable_weekdays"),
        (json!({"usable_weekdays": [8]}), "usable_weekdays"),
        (
            json!({"usable_hours": {"from": "21:00", "to": "09:00"}}),
            "usable_hours",
        ),
        (json!({"usable_hours": {"from": "9:00", "to": "21:00"}}), "usable_hours"),
        (json!({"usable_hours": {"from": "09:00"}}), "usable_hours"),
        (json!({"usable_hours": "09:00-21:00"}), "usable_hours"),
    ];
    for (changes, field) in cases {
        let answer = app
            .post(&path, Some(&admin.token), with(batch_body(10, 1), changes.clone()))
            .await;
        answer.expect(422, Some("validation_failed"));
        assert_eq!(answer.error_fields(), vec![field.to_owned()], "{changes}");
    }
    let campaign_now = app.get(&format!("/campaigns/{campaign}"), None).await;
    assert_eq!(campaign_now.ok()["batches"], json!([]), "nothing was made");
    assert_eq!(campaign_now.ok()["reserved_fen"], 0);
}

#[actix_rt::test]
async fn entries_are_numbered_without_gaps_one_per_resident() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let campaign = app.active_campaign(&admin, campaign_body()).await;
    let batch = app.batch(&admin, campaign, lottery_body(5)).await["id"]
        .as_i64()
        .expect("id");

    let mut residents = Vec::new();
    for _ in 0..12 {
        residents.push(app.resident().await);
    }
    // Every resident enters twice at once: one entry each, numbered 1..=12.
    let attempts = residents.iter().chain(residents.iter()).map(|r| app.enter(r, batch));
    let answers = join_all(attempts).await;
    let mut numbers = Vec::new();
    for answer in &answers {
        match answer.status {
            201 => {
                assert_eq!(answer.body["status"], "entered");
                assert_eq!(answer.body["batch_id"], batch);
                numbers.push(answer.body["entry_no"].as_i64().expect("entry_no"));
            }
            _ => {
                answer.expect(409, Some("already_entered"));
            }
        }
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=12).collect::<Vec<i64>>());

    let mine = app.get("/me/entries", Some(&residents[3].token)).await;
    let items = mine.expect(200, None)["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["batch_id"], batch);
    // A late entrant follows on with the next number.
    let late = app.resident().await;
    assert_eq!(app.enter(&late, batch).await.expect(201, None)["entry_no"], 13);
    // Nothing is claimed by entering: remaining is still the number of winners.
    let shown = app.get(&format!("/campaigns/{campaign}"), None).await;
    assert_eq!(shown.ok()["batches"][0]["remaining"], 5);
}

#[actix_rt::test]
async fn entries_and_claims_follow_the_rule_order_and_refuse_the_other_allocation() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let resident = app.resident().await;
    let campaign = app.active_campaign(&admin, campaign_body()).await;
    let lottery = app.batch(&admin, campaign, lottery_body(5)).await["id"]
        .as_i64()
        .expect("id");
    let first_come = app.batch(&admin, campaign, batch_body(5, 1)).await["id"]
        .as_i64()
        .expect("id");
    let later = app
        .batch(
            &admin,
            campaign,
            with(lottery_body(5), json!({"claim_starts_at": at(Duration::days(1))})),
        )
        .await["id"]
        .as_i64()
        .expect("id");

    app.claim(&resident, lottery)
        .await
        .expect(409, Some("wrong_allocation"));
    app.enter(&resident, first_come)
        .await
        .expect(409, Some("wrong_allocation"));
    app.enter(&resident, later).await.expect(409, Some("claim_not_started"));
    app.enter(&admin, lottery).await.expect(403, Some("forbidden"));
    app.enter(&resident, 999_999).await.expect(404, Some("not_found"));
    app.enter(&resident, lottery).await.expect(201, None);
    app.enter(&resident, lottery).await.expect(409, Some("already_entered"));
    app.action(&format!("/admin/campaigns/{campaign}/pause"), Some(&admin.token))
        .await
        .expect(200, None);
    // Campaign first, before the resident's own state; wrong_allocation before all.
    app.enter(&resident, lottery)
        .await
        .expect(409, Some("campaign_not_active"));
    app.claim(&resident, lottery)
        .await
        .expect(409, Some("wrong_allocation"));

    let real_name = app
        .active_campaign(&admin, with(campaign_body(), json!({"require_real_name": true})))
        .await;
    let verified_only = app.batch(&admin, real_name, lottery_body(5)).await["id"]
        .as_i64()
        .expect("id");
    app.enter(&resident, verified_only)
        .await
        .expect(403, Some("real_name_required"));
}

/// Platform-local (Asia/Shanghai) now, as ISO weekday and minute of the day.
fn shanghai_now() -> (u32, u32) {
    let local = (Utc::now() + Duration::hours(8)).naive_utc();
    (local.weekday().number_from_monday(), local.hour() * 60 + local.minute())
}

fn hhmm(minute: u32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

#[actix_rt::test]
async fn a_voucher_is_used_only_on_its_weekdays_and_hours() {
    let app = TestApp::spawn().await;
    let shop = app.shop(None).await;
    let (weekday, minute) = shanghai_now();
    let other_days: Vec<u32> = (1..=7).filter(|d| *d != weekday).collect();
    // A window that holds now (to the end of the day) and one that does not: the
    // hour before now, or the hour after it when now is before 01:00.
    let open = json!({"from": hhmm(minute.saturating_sub(5)), "to": "24:00"});
    let closed = if minute >= 60 {
        json!({"from": hhmm(minute - 60), "to": hhmm(minute - 2)})
    } else {
        json!({"from": hhmm(minute + 5), "to": hhmm(minute + 60)})
    };
    let spend = |body: Value| with(body, json!({"min_spend_fen": 10_000, "discount_fen": 3_000}));
    let path = format!("/admin/campaigns/{}/batches", shop.campaign_id);
    let batch = |changes: Value| {
        let (app, path, token) = (&app, path.clone(), shop.admin.token.clone());
        async move {
            app.post(&path, Some(&token), with(spend(batch_body(10, 1)), changes))
                .await
                .expect(201, None)["id"]
                .as_i64()
                .expect("batch id")
        }
    };
    let wrong_day = batch(json!({"usable_weekdays": other_days})).await;
    let wrong_hour = batch(json!({"usable_hours": closed})).await;
    let right_time = batch(json!({"usable_weekdays": [weekday], "usable_hours": open})).await;

    for (batch_id, usable) in [(wrong_day, false), (wrong_hour, false), (right_time, true)] {
        let buyer = app.resident().await;
        let voucher = app.claim(&buyer, batch_id).await;
        let voucher = voucher.expect(201, None).clone();
        assert!(voucher["usable_weekdays"].is_array());
        let voucher_id = voucher["id"].as_i64().expect("voucher id");
        // Below the min spend it is not applicable at all: that is said first.
        let cheap = app.insert_offer(shop.merchant_id, 5_000, None);
        app.order(&buyer.token, cheap, 1, Some(voucher_id))
            .await
            .expect(422, Some("voucher_not_applicable"));
        let order = app.order(&buyer.token, shop.offer_id, 1, Some(voucher_id)).await;
        if usable {
            assert_eq!(order.expect(201, None)["subsidy_fen"], 3_000);
            assert_eq!(order.body["gross_fen"], PRICE_FEN);
        } else {
            order.expect(422, Some("voucher_not_usable_now"));
            let wallet = app.get("/me/vouchers", Some(&buyer.token)).await;
            assert_eq!(wallet.ok()["items"][0]["status"], "available", "nothing was locked");
        }
    }
    let wallet = app
        .get("/me/vouchers?status=locked", Some(&app.resident().await.token))
        .await;
    assert_eq!(wallet.ok()["items"], json!([]));
}
