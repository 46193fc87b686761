//! The daily cap of a first-come batch (API.md, Fair release: pacing): at most
//! `daily_quantity` claims per Asia/Shanghai calendar day, 409 `sold_out_today` right
//! after `sold_out` in the claim order, the count restarting at local midnight, and
//! `remaining_today` on the batch. The instances' clocks are moved to 23:59 and 00:01
//! Shanghai; the storm tests count per local day in the database.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use futures_util::future::join_all;
use serde_json::json;
use wenlv::db::schema::{batch_day_claims, vouchers};

use crate::campaigns_fixtures::{batch_body, campaign_body, listed_batch, with};
use crate::helpers::{Actor, TestApp};

/// Shanghai is UTC+8 all year (no daylight saving).
const SHANGHAI_OFFSET_HOURS: i64 = 8;

/// The UTC instant of `hh:mm` Shanghai time on the Shanghai day `day`.
fn shanghai(day: NaiveDate, hh: u32, mm: u32) -> NaiveDateTime {
    day.and_hms_opt(hh, mm, 0).expect("a time") - Duration::hours(SHANGHAI_OFFSET_HOURS)
}

/// Tomorrow's Shanghai date: its 23:59 lies inside the fixtures' windows.
fn tomorrow_in_shanghai() -> NaiveDate {
    (Utc::now().naive_utc() + Duration::hours(SHANGHAI_OFFSET_HOURS) + Duration::days(1)).date()
}

/// An active campaign with one first-come batch of `quantity`, `per_user_limit`
/// and `daily_quantity`; returns (campaign id, batch id).
async fn capped_batch(app: &TestApp, admin: &Actor, quantity: i64, limit: i64, daily: i64) -> (i64, i64) {
    let campaign = app.active_campaign(admin, campaign_body()).await;
    let body = with(batch_body(quantity, limit), json!({ "daily_quantity": daily }));
    let batch = app.batch(admin, campaign, body).await;
    assert_eq!(batch["remaining_today"], json!(daily));
    (campaign, batch["id"].as_i64().expect("batch id"))
}

/// The day rows of the batch: local day → claimed.
fn day_rows(app: &TestApp, batch: i64) -> BTreeMap<String, i64> {
    batch_day_claims::table
        .filter(batch_day_claims::batch_id.eq(batch))
        .select((batch_day_claims::day, batch_day_claims::claimed))
        .load::<(String, i64)>(&mut app.db())
        .expect("day rows")
        .into_iter()
        .collect()
}

/// The batch's vouchers counted by the Shanghai day of `claimed_at`.
fn vouchers_per_day(app: &TestApp, batch: i64) -> BTreeMap<String, i64> {
    let claimed: Vec<NaiveDateTime> = vouchers::table
        .filter(vouchers::batch_id.eq(batch))
        .select(vouchers::claimed_at)
        .load(&mut app.db())
        .expect("vouchers");
    let mut per_day = BTreeMap::new();
    for at in claimed {
        let day = (at + Duration::hours(SHANGHAI_OFFSET_HOURS)).date().to_string();
        *per_day.entry(day).or_insert(0) += 1;
    }
    per_day
}

async fn code_of(app: &TestApp, who: &Actor, batch: i64) -> (u16, String) {
    let resp = app.claim(who, batch).await;
    (resp.status, resp.body["code"].as_str().unwrap_or("").to_owned())
}

/// 23:59 and 00:01 Shanghai, the rule order around the cap, and `remaining_today`,
/// on the coalesced path or (`coalesced = false`) one transaction per claim.
async fn cap_restarts_at_shanghai_midnight(coalesced: bool) {
    let app = TestApp::spawn_with(|s| s.claims.enabled = coalesced).await;
    let admin = app.admin().await;
    let (first, second, third) = (app.resident().await, app.resident().await, app.resident().await);
    let day = tomorrow_in_shanghai();
    app.clock.set(shanghai(day, 23, 59));
    // 4 in stock, 3 a day, 2 a resident.
    let (campaign, batch) = capped_batch(&app, &admin, 4, 2, 3).await;

    app.claim(&first, batch).await.expect(201, None);
    app.claim(&first, batch).await.expect(201, None);
    let seen = listed_batch(&app, campaign, batch).await;
    assert_eq!(
        (seen["remaining"].clone(), seen["remaining_today"].clone()),
        (json!(2), json!(1))
    );
    app.claim(&second, batch).await.expect(201, None);
    // The day is full: the resident at the limit hears that first, the others sold_out_today.
    app.claim(&first, batch).await.expect(409, Some("claim_limit_reached"));
    app.claim(&second, batch).await.expect(409, Some("sold_out_today"));
    app.claim(&third, batch).await.expect(409, Some("sold_out_today"));
    let seen = listed_batch(&app, campaign, batch).await;
    assert_eq!(
        (seen["remaining"].clone(), seen["remaining_today"].clone()),
        (json!(1), json!(0))
    );

    // Two minutes later it is the next day in Shanghai: the count restarts.
    app.clock.set(shanghai(day.succ_opt().expect("a day"), 0, 1));
    let seen = listed_batch(&app, campaign, batch).await;
    assert_eq!(seen["remaining_today"], json!(1), "3 today, but only 1 in stock");
    app.claim(&third, batch).await.expect(201, None);
    // Stock is gone: sold_out comes before sold_out_today.
    app.claim(&second, batch).await.expect(409, Some("sold_out"));
    let seen = listed_batch(&app, campaign, batch).await;
    assert_eq!(
        (seen["remaining"].clone(), seen["remaining_today"].clone()),
        (json!(0), json!(0))
    );

    let (d1, d2) = (day.to_string(), day.succ_opt().expect("a day").to_string());
    let expected = BTreeMap::from([(d1, 3), (d2, 1)]);
    assert_eq!(day_rows(&app, batch), expected);
    assert_eq!(vouchers_per_day(&app, batch), expected);
}

#[tokio::test]
async fn the_daily_cap_restarts_at_shanghai_midnight() {
    cap_restarts_at_shanghai_midnight(true).await;
}

#[tokio::test]
async fn the_daily_cap_holds_one_claim_at_a_time_too() {
    cap_restarts_at_shanghai_midnight(false).await;
}

#[tokio::test]
async fn a_full_day_is_answered_from_memory_until_midnight() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let people: Vec<Actor> = join_all((0..3).map(|_| app.resident())).await;
    let day = tomorrow_in_shanghai();
    app.clock.set(shanghai(day, 23, 59));
    let (_, batch) = capped_batch(&app, &admin, 10, 1, 1).await;
    app.claim(&people[0], batch).await.expect(201, None);
    app.claim(&people[1], batch).await.expect(409, Some("sold_out_today"));
    let series = "claims_answered_from_memory_total{code=\"sold_out_today\"}";
    let before = crate::vouchers::counter(&app, series).await;
    app.claim(&people[1], batch).await.expect(409, Some("sold_out_today"));
    app.claim(&people[0], batch)
        .await
        .expect(409, Some("claim_limit_reached"));
    assert!(crate::vouchers::counter(&app, series).await >= before + 1.0);
    // Past midnight memory no longer answers: the database gives the new day's claim.
    app.clock.set(shanghai(day.succ_opt().expect("a day"), 0, 1));
    app.claim(&people[1], batch).await.expect(201, None);
    app.claim(&people[2], batch).await.expect(409, Some("sold_out_today"));
}

/// Residents claiming in parallel over `instances`, each instance's clock at `at`:
/// the (status, code) answers.
async fn storm(instances: &[&TestApp], people: &[Actor], batch: i64, at: NaiveDateTime) -> Vec<(u16, String)> {
    for app in instances {
        app.clock.set(at);
    }
    let claims = people.iter().enumerate().map(|(i, who)| {
        let app = instances[i % instances.len()];
        async move { code_of(app, who, batch).await }
    });
    join_all(claims).await
}

#[tokio::test]
async fn a_storm_over_two_instances_never_claims_more_than_the_day_allows() {
    let app = TestApp::spawn().await;
    let other = app.spawn_sharing(|_| {}).await;
    let admin = app.admin().await;
    let people = app.residents(120).await;
    let day = tomorrow_in_shanghai();
    app.clock.set(shanghai(day, 12, 0));
    // 100 in stock, 40 a day, 2 a resident: 120 residents storm on two days.
    let (campaign, batch) = capped_batch(&app, &admin, 100, 2, 40).await;
    let mut expected = BTreeMap::new();
    for (n, date) in [day, day.succ_opt().expect("a day")].into_iter().enumerate() {
        let answers = storm(&[&app, &other], &people, batch, shanghai(date, 23, 59)).await;
        assert!(answers.iter().all(|a| a.0 < 500), "no 5xx: {answers:?}");
        let created = answers.iter().filter(|a| a.0 == 201).count();
        let today = answers.iter().filter(|a| a.1 == "sold_out_today").count();
        assert_eq!((created, today), (40, 80), "day {n}: {answers:?}");
        expected.insert(date.to_string(), 40);
        let seen = listed_batch(&app, campaign, batch).await;
        assert_eq!(seen["remaining_today"], json!(0));
        assert_eq!(seen["remaining"], json!(100 - 40 * (n as i64 + 1)));
    }
    assert_eq!(day_rows(&app, batch), expected);
    assert_eq!(vouchers_per_day(&app, batch), expected);
    // Nobody beyond the per-user limit, counted in the database.
    let most: Option<i64> = vouchers::table
        .filter(vouchers::batch_id.eq(batch))
        .group_by(vouchers::user_id)
        .select(diesel::dsl::count_star())
        .load::<i64>(&mut app.db())
        .expect("holdings")
        .into_iter()
        .max();
    assert!(most.is_some_and(|m| m <= 2));
}

#[tokio::test]
async fn a_group_wanting_more_than_today_leaves_gives_it_to_its_earliest() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let people: Vec<Actor> = join_all((0..4).map(|_| app.resident())).await;
    let (_, batch) = capped_batch(&app, &admin, 10, 1, 2).await;
    let ids: Vec<i64> = people.iter().map(|p| p.id).collect();
    // One group, decided in arrival order: a repeat resident, then three others.
    let group = [ids[0], ids[0], ids[1], ids[2], ids[3]];
    let outcome =
        wenlv::vouchers::repo::group::claim_group(&mut app.db(), &app.clock, batch, &group).expect("the group commits");
    let codes: Vec<&str> = outcome
        .answers
        .iter()
        .map(|a| match a {
            Ok(_) => "201",
            Err(e) => e.code().as_str(),
        })
        .collect();
    assert_eq!(
        codes,
        ["201", "claim_limit_reached", "201", "sold_out_today", "sold_out_today"]
    );
    let today = app.clock.day_of(app.clock.now());
    assert_eq!(day_rows(&app, batch), BTreeMap::from([(today, 2)]));
}
